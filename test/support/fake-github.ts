import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake received, for assertions (e.g. that a token or key never appeared). */
interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  rawBody: string;
  authorization: string | undefined;
}

interface FakePull {
  number: number;
  state: 'open' | 'closed';
  title: string;
  body: string;
  head: string;
  base: string;
  headSha: string;
  labels: string[];
  user: string;
}

interface FakeIssueComment {
  id: number;
  issueNumber: number;
  body: string;
  user: string;
}

interface FakeReviewComment {
  id: number;
  pullNumber: number;
  reviewId: number | null;
  path: string;
  body: string;
  user: string;
}

type FakePermission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

export interface FakeGitHubOptions {
  /** When set, any request without `authorization: token <this>` (or Bearer) gets 401. */
  token?: string;
  /** Used only to build html_url values; never contacted. */
  serverUrl?: string;
  /** Login of the token's user: the author of PRs and comments it creates. */
  actor?: string;
}

export interface FakeGitHub {
  /** Base URL for `getOctokit(token, { baseUrl })`. */
  url: string;
  requests: RecordedRequest[];
  pulls: FakePull[];
  issueComments: FakeIssueComment[];
  reviewComments: FakeReviewComment[];
  /** `owner/repo/user` → permission; anyone unlisted is `none`, users in `unknownUsers` get 404. */
  permissions: Map<string, FakePermission>;
  unknownUsers: Set<string>;
  setPermission(owner: string, repo: string, user: string, permission: FakePermission): void;
  addPull(pull: Partial<FakePull> & { head: string }): FakePull;
  addReviewComment(
    comment: Omit<FakeReviewComment, 'id' | 'reviewId'> & { reviewId?: number | null },
  ): FakeReviewComment;
  /**
   * Makes the next request matching `method path` answer with this status (once); `then` runs at
   * that moment, to stage a race (e.g. someone else opening the PR).
   */
  failNext(method: string, pathPattern: RegExp, status: number, message?: string, then?: () => void): void;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function str(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new HttpError(422, `${field} is required`);
  return value;
}

/**
 * A loopback stand-in for the parts of the GitHub REST API lineup uses. State lives in memory and
 * is inspectable; every request is recorded. Shapes follow the real API closely enough for
 * Octokit's typed methods (numbers, html_url, head.ref/label, labels[].name).
 */
export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const serverUrl = options.serverUrl ?? 'https://github.com';
  const actor = options.actor ?? 'github-actions[bot]';
  const requests: RecordedRequest[] = [];
  const pulls: FakePull[] = [];
  const issueComments: FakeIssueComment[] = [];
  const reviewComments: FakeReviewComment[] = [];
  const permissions = new Map<string, FakePermission>();
  const unknownUsers = new Set<string>();
  const failures: Array<{
    method: string;
    path: RegExp;
    status: number;
    message: string;
    then?: () => void;
  }> = [];
  let nextNumber = 1;
  let nextId = 1000;

  const user = (login: string) => ({
    login,
    id: login.length,
    type: login.endsWith('[bot]') ? 'Bot' : 'User',
  });

  const pullJson = (owner: string, repo: string, p: FakePull) => ({
    id: 500 + p.number,
    number: p.number,
    state: p.state,
    title: p.title,
    body: p.body,
    html_url: `${serverUrl}/${owner}/${repo}/pull/${p.number}`,
    url: `${serverUrl}/api/repos/${owner}/${repo}/pulls/${p.number}`,
    user: user(p.user),
    labels: p.labels.map((name, i) => ({ id: i + 1, name })),
    head: {
      ref: p.head,
      sha: p.headSha,
      label: `${owner}:${p.head}`,
      repo: { full_name: `${owner}/${repo}` },
    },
    base: { ref: p.base, label: `${owner}:${p.base}`, repo: { full_name: `${owner}/${repo}` } },
  });

  const commentJson = (owner: string, repo: string, c: FakeIssueComment) => ({
    id: c.id,
    body: c.body,
    user: user(c.user),
    html_url: `${serverUrl}/${owner}/${repo}/pull/${c.issueNumber}#issuecomment-${c.id}`,
  });

  const reviewCommentJson = (owner: string, repo: string, c: FakeReviewComment) => ({
    id: c.id,
    pull_request_review_id: c.reviewId,
    path: c.path,
    body: c.body,
    user: user(c.user),
    html_url: `${serverUrl}/${owner}/${repo}/pull/${c.pullNumber}#discussion_r${c.id}`,
  });

  function pull(n: number): FakePull {
    const p = pulls.find((x) => x.number === n);
    if (!p) throw new HttpError(404, 'Not Found');
    return p;
  }

  function route(
    method: string,
    parts: string[],
    query: Record<string, string>,
    body: Record<string, unknown>,
  ) {
    const [root, owner = '', repo = '', kind, a, b, c] = parts;
    if (root !== 'repos' || !owner || !repo) throw new HttpError(404, 'Not Found');

    if (kind === 'pulls' && a === undefined) {
      if (method === 'GET') {
        const state = query.state ?? 'open';
        return pulls
          .filter((p) => state === 'all' || p.state === state)
          .filter((p) => !query.head || `${owner}:${p.head}` === query.head)
          .filter((p) => !query.base || p.base === query.base)
          .map((p) => pullJson(owner, repo, p));
      }
      if (method === 'POST') {
        const head = str(body.head, 'head');
        const base = str(body.base, 'base');
        if (pulls.some((p) => p.state === 'open' && p.head === head && p.base === base)) {
          throw new HttpError(422, `A pull request already exists for ${owner}:${head}.`);
        }
        const p: FakePull = {
          number: nextNumber++,
          state: 'open',
          title: str(body.title, 'title'),
          body: typeof body.body === 'string' ? body.body : '',
          head,
          base,
          headSha: '0'.repeat(40),
          labels: [],
          user: actor,
        };
        pulls.push(p);
        return [201, pullJson(owner, repo, p)];
      }
    }
    if (kind === 'pulls' && a !== undefined) {
      const p = pull(Number(a));
      if (b === undefined && method === 'GET') return pullJson(owner, repo, p);
      if (b === undefined && method === 'PATCH') {
        if (typeof body.title === 'string') p.title = body.title;
        if (typeof body.body === 'string') p.body = body.body;
        if (body.state === 'open' || body.state === 'closed') p.state = body.state;
        return pullJson(owner, repo, p);
      }
      if (b === 'comments' && method === 'GET') {
        return reviewComments
          .filter((r) => r.pullNumber === p.number)
          .map((r) => reviewCommentJson(owner, repo, r));
      }
      if (b === 'reviews' && c !== undefined && parts[7] === 'comments' && method === 'GET') {
        return reviewComments
          .filter((r) => r.pullNumber === p.number && r.reviewId === Number(c))
          .map((r) => reviewCommentJson(owner, repo, r));
      }
    }
    if (kind === 'issues' && a === 'comments' && b !== undefined && c === 'reactions' && method === 'POST') {
      return [201, { id: nextId++, content: body.content }];
    }
    if (kind === 'issues' && a !== undefined) {
      const p = pull(Number(a));
      if (b === 'labels' && method === 'POST') {
        const labels = Array.isArray(body.labels) ? body.labels.map(String) : [];
        for (const l of labels) if (!p.labels.includes(l)) p.labels.push(l);
        return p.labels.map((name, i) => ({ id: i + 1, name }));
      }
      if (b === 'comments' && method === 'POST') {
        const comment: FakeIssueComment = {
          id: nextId++,
          issueNumber: p.number,
          body: str(body.body, 'body'),
          user: actor,
        };
        issueComments.push(comment);
        return [201, commentJson(owner, repo, comment)];
      }
      if (b === 'comments' && method === 'GET') {
        return issueComments
          .filter((x) => x.issueNumber === p.number)
          .map((x) => commentJson(owner, repo, x));
      }
    }
    if (kind === 'collaborators' && a !== undefined && b === 'permission' && method === 'GET') {
      const login = decodeURIComponent(a);
      if (unknownUsers.has(login)) throw new HttpError(404, 'Not Found');
      const level = permissions.get(`${owner}/${repo}/${login}`) ?? 'none';
      const legacy = level === 'maintain' ? 'write' : level === 'triage' ? 'read' : level;
      return { permission: legacy, role_name: level, user: user(login) };
    }
    throw new HttpError(404, 'Not Found');
  }

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const rawBody = await readBody(req);
      let body: unknown;
      try {
        body = rawBody ? JSON.parse(rawBody) : undefined;
      } catch {
        body = undefined;
      }
      const method = req.method ?? 'GET';
      const authorization = req.headers.authorization;
      requests.push({
        method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body,
        rawBody,
        authorization,
      });

      if (
        options.token &&
        authorization !== `token ${options.token}` &&
        authorization !== `Bearer ${options.token}`
      ) {
        return send(res, 401, { message: 'Bad credentials' });
      }
      const failure = failures.findIndex((f) => f.method === method && f.path.test(url.pathname));
      if (failure >= 0) {
        const [f] = failures.splice(failure, 1);
        f?.then?.();
        return send(res, f?.status ?? 500, { message: f?.message ?? 'injected failure' });
      }
      const parts = url.pathname.split('/').filter(Boolean);
      const result = route(
        method,
        parts,
        Object.fromEntries(url.searchParams),
        typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {},
      );
      if (Array.isArray(result) && result.length === 2 && typeof result[0] === 'number') {
        return send(res, result[0], result[1]);
      }
      return send(res, 200, result);
    } catch (error) {
      if (error instanceof HttpError) return send(res, error.status, { message: error.message });
      return send(res, 500, { message: String(error) });
    }
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    pulls,
    issueComments,
    reviewComments,
    permissions,
    unknownUsers,
    setPermission(owner, repo, login, permission) {
      permissions.set(`${owner}/${repo}/${login}`, permission);
    },
    addPull(partial) {
      const p: FakePull = {
        number: nextNumber++,
        state: 'open',
        title: 'existing',
        body: '',
        base: 'main',
        headSha: '0'.repeat(40),
        labels: [],
        user: actor,
        ...partial,
      };
      pulls.push(p);
      return p;
    },
    addReviewComment(comment) {
      const c: FakeReviewComment = { id: nextId++, reviewId: null, ...comment };
      reviewComments.push(c);
      return c;
    },
    failNext(method, path, status, message = 'injected failure', then) {
      failures.push({ method, path, status, message, ...(then ? { then } : {}) });
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

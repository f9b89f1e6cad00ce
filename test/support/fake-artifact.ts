import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';

const TWIRP = '/twirp/github.actions.results.api.v1.ArtifactService/';

interface FakeArtifact {
  name: string;
  workflowRunBackendId: string;
  workflowJobRunBackendId: string;
  /** The uploaded zip, assembled from the committed block list. */
  zip: Buffer;
  /** What FinalizeArtifact reported. */
  size: string | undefined;
  hash: string | undefined;
  finalized: boolean;
  id: number;
}

export interface FakeArtifactService {
  /** Value for ACTIONS_RESULTS_URL. */
  url: string;
  artifacts: FakeArtifact[];
  /** Every request: method, path and query, for assertions. */
  requests: Array<{ method: string; path: string; query: string; authorization: string | undefined }>;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function created(res: ServerResponse): void {
  res.writeHead(201, { 'content-length': 0, 'x-ms-request-id': 'fake', 'x-ms-version': '2025-01-05' });
  res.end();
}

/**
 * A loopback stand-in for the Actions results service and the Azure blob it hands out: Twirp
 * CreateArtifact answers with a signed URL pointing back here (`/<account>/<container>/<blob>`,
 * the path form the Azure SDK expects for an IP host), block and block-list PUTs assemble the zip,
 * FinalizeArtifact marks it done.
 */
export async function startFakeArtifactService(): Promise<FakeArtifactService> {
  const artifacts: FakeArtifact[] = [];
  const requests: FakeArtifactService['requests'] = [];
  const blocks = new Map<string, Map<string, Buffer>>();
  const blobs = new Map<string, Buffer>();
  let base = '';

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const body = await readBody(req);
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        query: url.search,
        authorization: req.headers.authorization,
      });

      if (req.method === 'POST' && url.pathname.startsWith(TWIRP)) {
        const method = url.pathname.slice(TWIRP.length);
        const input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        const runId = String(input.workflow_run_backend_id ?? input.workflowRunBackendId ?? '');
        const jobId = String(input.workflow_job_run_backend_id ?? input.workflowJobRunBackendId ?? '');
        const name = String(input.name ?? '');
        if (method === 'CreateArtifact') {
          const artifact: FakeArtifact = {
            name,
            workflowRunBackendId: runId,
            workflowJobRunBackendId: jobId,
            zip: Buffer.alloc(0),
            size: undefined,
            hash: undefined,
            finalized: false,
            id: artifacts.length + 1,
          };
          artifacts.push(artifact);
          const blob = `/fakeaccount/artifacts/${artifact.id}-${encodeURIComponent(name)}.zip`;
          return json(res, 200, { ok: true, signed_upload_url: `${base}${blob}?sig=fakesig&sv=2025-01-05` });
        }
        if (method === 'FinalizeArtifact') {
          const artifact = artifacts.find((a) => a.name === name && !a.finalized);
          if (!artifact) return json(res, 404, { code: 'not_found', msg: `no artifact ${name}` });
          artifact.zip =
            blobs.get(`/fakeaccount/artifacts/${artifact.id}-${encodeURIComponent(name)}.zip`) ??
            Buffer.alloc(0);
          artifact.size = typeof input.size === 'string' ? input.size : undefined;
          const hash = input.hash;
          artifact.hash =
            typeof hash === 'string'
              ? hash
              : typeof hash === 'object' && hash
                ? String((hash as { value?: string }).value)
                : undefined;
          artifact.finalized = true;
          return json(res, 200, { ok: true, artifact_id: String(artifact.id) });
        }
        return json(res, 404, { code: 'bad_route', msg: method });
      }

      if (req.method === 'PUT') {
        const blob = url.pathname;
        const comp = url.searchParams.get('comp');
        if (comp === 'block') {
          const id = url.searchParams.get('blockid') ?? '';
          const map = blocks.get(blob) ?? new Map<string, Buffer>();
          map.set(id, body);
          blocks.set(blob, map);
          return created(res);
        }
        if (comp === 'blocklist') {
          const ids = [
            ...body.toString('utf8').matchAll(/<(?:Latest|Uncommitted|Committed)>([^<]*)<\//g),
          ].map((m) => m[1] ?? '');
          const map = blocks.get(blob) ?? new Map<string, Buffer>();
          blobs.set(blob, Buffer.concat(ids.map((id) => map.get(id) ?? Buffer.alloc(0))));
          return created(res);
        }
        // A single-shot upload of a small blob.
        blobs.set(blob, body);
        return created(res);
      }
      json(res, 404, { message: 'Not Found' });
    } catch (error) {
      json(res, 500, { message: String(error) });
    }
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    artifacts,
    requests,
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

function base64url(value: string): string {
  return Buffer.from(value).toString('base64url');
}

/**
 * An ACTIONS_RUNTIME_TOKEN: the artifact client only decodes it (never verifies), and needs the
 * `Actions.Results:<run>:<job>` scope to name the run and job.
 */
function makeRuntimeToken(runId = 'run-backend-1', jobId = 'job-backend-1'): string {
  const header = base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }));
  const payload = base64url(
    JSON.stringify({ scp: `Actions.GenericRead:0 Actions.Results:${runId}:${jobId}`, exp: 4102444800 }),
  );
  return `${header}.${payload}.${base64url('unsigned')}`;
}

/** Environment for @actions/artifact pointing at the fake; apply it to process.env (and restore) or a child's env. */
export function artifactEnv(
  service: FakeArtifactService,
  runId?: string,
  jobId?: string,
): Record<string, string | undefined> {
  return {
    ACTIONS_RUNTIME_TOKEN: makeRuntimeToken(runId, jobId),
    ACTIONS_RESULTS_URL: `${service.url}/`,
    // Anything but github.com / *.ghe.com / *.localhost makes the client assume GHES and refuse.
    GITHUB_SERVER_URL: undefined,
  };
}

/** Sets env vars (undefined deletes) and returns a function that puts the previous values back. */
export function withEnv(vars: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, value] of Object.entries(v)) {
      if (value === undefined) delete process.env[k];
      else process.env[k] = value;
    }
  };
  apply(vars);
  return () => apply(saved);
}

export interface ZipEntry {
  name: string;
  data: Buffer;
}

/** Reads a zip's entries through its central directory (stored and deflated only: what the client writes). */
export function unzip(zip: Buffer): ZipEntry[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip: no end of central directory');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('bad central directory entry');
    const method = zip.readUInt16LE(p + 10);
    const compressed = zip.readUInt32LE(p + 20);
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const commentLength = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLength).toString('utf8');
    const localStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(localStart, localStart + compressed);
    const data = method === 0 ? Buffer.from(raw) : method === 8 ? inflateRawSync(raw) : Buffer.alloc(0);
    if (method !== 0 && method !== 8) throw new Error(`unsupported zip method ${method} for ${name}`);
    if (!name.endsWith('/')) entries.push({ name, data });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

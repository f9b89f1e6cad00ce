import type { IncomingMessage, ServerResponse } from 'node:http';

/** A route added by a later fake (batch mode): `match` gets the path without query; return true if handled. */
export interface FakeRoute {
  method: string;
  path: RegExp;
  /** When given, the route answers only requests whose parsed body it accepts. */
  accepts?: (body: unknown) => boolean;
  handle(ctx: {
    req: IncomingMessage;
    res: ServerResponse;
    match: RegExpExecArray;
    body: unknown;
  }): Promise<void> | void;
}

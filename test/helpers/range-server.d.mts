/** One request the server answered. */
export interface RangeServerLogEntry {
  method: string;
  path: string;
  range: string | undefined;
  /** The status sent (-1 for a connection reset on purpose, 0 before an answer). */
  status: number;
  /** Body bytes written before the answer ended or the client left. */
  bytesSent: number;
  headers: Record<string, string | string[] | undefined>;
}

/** The server of range-server.mjs (see its comment for the modes). */
export interface RangeServer {
  readonly url: string;
  readonly port: number;
  readonly log: RangeServerLogEntry[];
  add(name: string, bytes: Uint8Array): void;
  at(mode: string, name: string): string;
  reset(): void;
  delayMs: number;
  close(): Promise<void>;
}

export function startRangeServer(options?: { delayMs?: number; host?: string }): Promise<RangeServer>;

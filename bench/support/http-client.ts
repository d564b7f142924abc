/**
 * The benchmarks' HTTP client: HTTP/1.1 over keep-alive `net` sockets, one request in flight per
 * connection, written as one buffer and read back by a small parser (status line, Content-Length
 * or chunked body). On this 2-core machine the load generator shares the CPU with the systems it
 * measures: node:http's client cost ~170 µs of CPU per small request here (0.5 of a core at
 * 3,000 requests/s, measured with bench/support/process-cpu.ts), `fetch` about twice that. Every
 * system measured in a run (ours, etcd) goes through this same client.
 */
import net from 'node:net';

/** Connections per target host (bench:query has up to 512 strong reads in flight); requests beyond wait for one. */
export const connectionsPerHostMax = 512;
/** A request that takes longer than this has failed (counted as an error by the load loop). */
export const requestTimeoutMsMax = 60_000;
/** Response heads and bodies beyond this are refused (the benchmarks' answers are small). */
const responseBytesMax = 16 * 1024 * 1024;

export interface TextResponse {
  readonly status: number;
  readonly text: string;
}

interface PendingRequest {
  readonly head: string;
  readonly body: Buffer;
  readonly resolve: (response: TextResponse) => void;
  readonly reject: (error: Error) => void;
  startedAt: number;
}

/** What has been read of one response so far. */
class ResponseParser {
  #buffered: Buffer = Buffer.alloc(0);
  #status = 0;
  #headDone = false;
  #contentLength = -1;
  #chunked = false;
  #closeAfter = false;
  readonly #bodyParts: Buffer[] = [];

  get closeAfter(): boolean {
    return this.#closeAfter;
  }

  /** Takes more bytes; returns the response once complete (bytes beyond it are an error: no pipelining). */
  push(chunk: Buffer): TextResponse | undefined {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    if (this.#buffered.length > responseBytesMax) throw new Error(`response over ${responseBytesMax} bytes`);
    if (!this.#headDone && !this.#readHead()) return undefined;
    const body = this.#chunked ? this.#readChunks() : this.#readSized();
    if (body === undefined) return undefined;
    return { status: this.#status, text: body.toString('utf8') };
  }

  #readHead(): boolean {
    const end = this.#buffered.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const lines = this.#buffered.toString('latin1', 0, end).split('\r\n');
    const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (statusLine === null) throw new Error(`malformed status line: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
    this.#status = Number(statusLine[1]);
    for (let index = 1; index < lines.length; index += 1) {
      const line = lines[index]!;
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') this.#contentLength = Number(value);
      else if (name === 'transfer-encoding') this.#chunked = value.toLowerCase().includes('chunked');
      else if (name === 'connection') this.#closeAfter = value.toLowerCase() === 'close';
    }
    if (!this.#chunked && !(Number.isSafeInteger(this.#contentLength) && this.#contentLength >= 0)) {
      // Every server we measure frames its answers; a body delimited by closing is not supported.
      throw new Error(`response ${this.#status} has neither Content-Length nor chunked encoding`);
    }
    this.#headDone = true;
    this.#buffered = this.#buffered.subarray(end + 4);
    return true;
  }

  #readSized(): Buffer | undefined {
    if (this.#buffered.length < this.#contentLength) return undefined;
    if (this.#buffered.length > this.#contentLength) throw new Error('bytes after the response (the client does not pipeline)');
    return this.#buffered;
  }

  #readChunks(): Buffer | undefined {
    for (;;) {
      const lineEnd = this.#buffered.indexOf('\r\n');
      if (lineEnd < 0) return undefined;
      const size = Number.parseInt(this.#buffered.toString('latin1', 0, lineEnd).split(';')[0]!, 16);
      if (!Number.isSafeInteger(size) || size < 0) throw new Error('malformed chunk size');
      if (size === 0) {
        // The last chunk; no trailers expected, only the final CRLF.
        if (this.#buffered.length < lineEnd + 4) return undefined;
        return Buffer.concat(this.#bodyParts);
      }
      if (this.#buffered.length < lineEnd + 2 + size + 2) return undefined;
      this.#bodyParts.push(this.#buffered.subarray(lineEnd + 2, lineEnd + 2 + size));
      this.#buffered = this.#buffered.subarray(lineEnd + 2 + size + 2);
    }
  }
}

/** One keep-alive connection; runs one request at a time. */
class Connection {
  readonly #socket: net.Socket;
  #current: PendingRequest | undefined;
  #parser: ResponseParser | undefined;
  #closed = false;
  readonly #onIdle: (connection: Connection) => void;
  readonly #onClosed: (connection: Connection) => void;

  constructor(host: string, port: number, onIdle: (connection: Connection) => void, onClosed: (connection: Connection) => void) {
    this.#onIdle = onIdle;
    this.#onClosed = onClosed;
    this.#socket = net.connect({ host, port, noDelay: true });
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('error', (error) => this.#close(error));
    this.#socket.on('close', () => this.#close(new Error('connection closed by the server')));
  }

  get busy(): boolean {
    return this.#current !== undefined;
  }

  /** How long the request in flight has been waiting (ms), or 0. */
  ageMs(now: number): number {
    return this.#current === undefined ? 0 : now - this.#current.startedAt;
  }

  send(request: PendingRequest): void {
    this.#current = request;
    this.#parser = new ResponseParser();
    this.#socket.write(request.body.length > 0 ? Buffer.concat([Buffer.from(request.head, 'latin1'), request.body]) : request.head);
  }

  destroy(error: Error): void {
    this.#socket.destroy();
    this.#close(error);
  }

  #onData(chunk: Buffer): void {
    const request = this.#current;
    const parser = this.#parser;
    if (request === undefined || parser === undefined) {
      this.destroy(new Error('data from the server with no request in flight'));
      return;
    }
    let response: TextResponse | undefined;
    try {
      response = parser.push(chunk);
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    if (response === undefined) return;
    this.#current = undefined;
    this.#parser = undefined;
    if (parser.closeAfter) {
      this.#socket.end();
      this.#close(undefined);
    } else {
      this.#onIdle(this);
    }
    request.resolve(response);
  }

  #close(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    const request = this.#current;
    this.#current = undefined;
    this.#onClosed(this);
    if (request !== undefined) request.reject(error ?? new Error('connection closed'));
  }
}

/** The connections to one host:port and the requests waiting for one. */
class HostPool {
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  readonly #waiting: PendingRequest[] = [];
  readonly #host: string;
  readonly #port: number;

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
  }

  request(request: PendingRequest): void {
    const idle = this.#idle.pop();
    if (idle !== undefined) return idle.send(request);
    if (this.#all.size < connectionsPerHostMax) return this.#open().send(request);
    this.#waiting.push(request);
  }

  /** Fails requests in flight longer than `requestTimeoutMsMax`; says whether anything is pending. */
  expire(now: number): boolean {
    for (const connection of this.#all) {
      if (connection.ageMs(now) > requestTimeoutMsMax) connection.destroy(new Error(`no answer from ${this.#host}:${this.#port} within ${requestTimeoutMsMax} ms`));
    }
    return this.#waiting.length > 0 || [...this.#all].some((connection) => connection.busy);
  }

  #open(): Connection {
    const connection = new Connection(this.#host, this.#port, (idle) => {
      const next = this.#waiting.shift();
      if (next !== undefined) idle.send(next);
      else this.#idle.push(idle);
    }, (closed) => {
      this.#all.delete(closed);
      const at = this.#idle.indexOf(closed);
      if (at >= 0) this.#idle.splice(at, 1);
      // A request waiting for a connection gets a fresh one in place of the closed one.
      const next = this.#waiting.shift();
      if (next !== undefined) this.request(next);
    });
    this.#all.add(connection);
    return connection;
  }
}

const pools = new Map<string, HostPool>();
/** One watchdog timer bounds every request (a timer per request cost the generator ~10% of its CPU). */
let watchdog: NodeJS.Timeout | undefined;

function poolFor(url: URL): HostPool {
  const key = url.host;
  let pool = pools.get(key);
  if (pool === undefined) {
    pool = new HostPool(url.hostname, Number(url.port || 80));
    pools.set(key, pool);
  }
  return pool;
}

function watch(): void {
  watchdog ??= setInterval(() => {
    const now = performance.now();
    let pending = false;
    for (const pool of pools.values()) pending = pool.expire(now) || pending;
    if (!pending) {
      clearInterval(watchdog);
      watchdog = undefined;
    }
  }, 1_000);
  watchdog.unref();
}

/** Sends one request and returns the status and the whole answer as text. */
export function requestText(method: 'GET' | 'POST', url: string, body = ''): Promise<TextResponse> {
  const target = new URL(url);
  if (target.protocol !== 'http:') throw new Error(`the bench client speaks plain http only, not ${target.protocol}`);
  const bodyBytes = Buffer.from(body, 'utf8');
  const head = `${method} ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n`
    + (method === 'POST' ? `Content-Type: application/json\r\nContent-Length: ${bodyBytes.length}\r\n` : '')
    + '\r\n';
  return new Promise((resolve, reject) => {
    poolFor(target).request({ head, body: bodyBytes, resolve, reject, startedAt: performance.now() });
    watch();
  });
}

/** POSTs a JSON body and returns the status and the whole answer as text. */
export function postText(url: string, body: string): Promise<TextResponse> {
  return requestText('POST', url, body);
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectionsPerHostMax, postText, requestText } from './http-client.ts';

const servers: http.Server[] = [];

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
  });
}

describe('bench HTTP client', () => {
  it('posts a JSON body and reads a Content-Length answer, reusing one connection', async () => {
    const seen: { method: string; url: string; type: string | undefined; body: string; socket: unknown }[] = [];
    const url = await serve(async (request, response) => {
      const body = await readBody(request);
      seen.push({ method: request.method!, url: request.url!, type: request.headers['content-type'], body, socket: request.socket });
      const answer = JSON.stringify({ echoed: body, n: seen.length });
      response.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      response.end(answer);
    });
    const first = await postText(`${url}/v1/things?x=1`, '{"name":"ünïcode"}');
    const second = await postText(`${url}/v1/things`, '{"n":2}');
    expect(first).toEqual({ status: 201, text: JSON.stringify({ echoed: '{"name":"ünïcode"}', n: 1 }) });
    expect(JSON.parse(second.text)).toEqual({ echoed: '{"n":2}', n: 2 });
    expect(seen.map(({ method, url: path, type }) => [method, path, type])).toEqual([
      ['POST', '/v1/things?x=1', 'application/json'],
      ['POST', '/v1/things', 'application/json'],
    ]);
    expect(seen[1]!.socket).toBe(seen[0]!.socket);
  });

  it('reads chunked answers split across many writes', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(503, { 'content-type': 'text/plain' });
      response.write('no ');
      setTimeout(() => {
        response.write('leader ');
        response.end('yet');
      }, 10);
    });
    expect(await requestText('GET', `${url}/health`)).toEqual({ status: 503, text: 'no leader yet' });
  });

  it('runs requests concurrently, at most connectionsPerHostMax connections, the rest queued', async () => {
    let open = 0;
    let openMax = 0;
    const url = await serve(async (request, response) => {
      const body = await readBody(request);
      open += 1;
      openMax = Math.max(openMax, open);
      setTimeout(() => {
        open -= 1;
        response.end(body);
      }, 5);
    });
    const count = connectionsPerHostMax + 40;
    const answers = await Promise.all(Array.from({ length: count }, (_, index) => postText(`${url}/`, String(index))));
    expect(answers.map((answer) => answer.text)).toEqual(Array.from({ length: count }, (_, index) => String(index)));
    expect(openMax).toBeLessThanOrEqual(connectionsPerHostMax);
    expect(openMax).toBeGreaterThan(1);
  });

  it('fails a request whose connection the server drops, and recovers on a new connection', async () => {
    let calls = 0;
    const url = await serve((request, response) => {
      calls += 1;
      if (calls === 1) request.socket.destroy();
      else response.end('ok');
    });
    await expect(postText(`${url}/`, '{}')).rejects.toThrow(/closed|reset|ECONNRESET/);
    expect(await postText(`${url}/`, '{}')).toEqual({ status: 200, text: 'ok' });
  });

  it('honours Connection: close', async () => {
    const sockets = new Set<unknown>();
    const url = await serve((request, response) => {
      sockets.add(request.socket);
      response.writeHead(200, { connection: 'close', 'content-length': 2 });
      response.end('ok');
    });
    for (let index = 0; index < 3; index += 1) expect((await postText(`${url}/`, '{}')).text).toBe('ok');
    expect(sockets.size).toBe(3);
  });

  it('refuses a connection it cannot open', async () => {
    const url = await serve((_request, response) => response.end());
    servers[0]!.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(postText(`${url.replace(/:\d+$/, ':1')}/`, '{}')).rejects.toThrow(/ECONNREFUSED/);
  });
});

/**
 * Relays a child's stdout/stderr to ours: JSON lines pass through unchanged when stdout is not a
 * terminal; in a terminal each line is pretty-printed (pino-pretty) behind the child's name.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { prettyFactory } from 'pino-pretty';

const pretty = prettyFactory({ colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,component', singleLine: true });

export function relayOutput(name: string, stream: Readable, terminal: boolean): void {
  const width = 12;
  const prefix = `${name.padEnd(width)}│ `;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!terminal) {
      process.stdout.write(line.startsWith('{') ? `${line}\n` : `${JSON.stringify({ level: 30, component: name, msg: line })}\n`);
      return;
    }
    const formatted = line.startsWith('{') ? safePretty(line) : `${line}\n`;
    process.stdout.write(formatted.split('\n').filter((part) => part.length > 0).map((part) => `${prefix}${part}`).join('\n') + '\n');
  });
}

function safePretty(line: string): string {
  try {
    return pretty(line);
  } catch {
    return `${line}\n`;
  }
}

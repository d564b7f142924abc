/**
 * `npm run ledgerctl -- <command>`: operate a writer cluster through its client API.
 *
 *   status                      every node's view (role, term, leader, commit/applied index, seq)
 *   add-learner <nodeId>        add a node as a non-voting learner (it catches up from the leader)
 *   promote <nodeId>            make a caught-up learner a voter
 *   remove <nodeId>             remove a node (voter or learner) from the cluster
 *   transfer-leadership <id>    hand leadership to another voter
 *
 * Nodes are found from --urls http://a:7001,http://b:7002 or WRITER_CLIENT_URLS (id=url,…) or the
 * local defaults of `npm start`. Any node can be asked: followers forward to the leader.
 * A node that lost its disk restarts as a non-voter; to make it a voter again:
 *   remove <id>  →  add-learner <id>  →  (wait until status shows it caught up)  →  promote <id>
 */
import { parseKeyedList, parseList } from '../../common/config.ts';

const requestTimeoutMs = 15_000;

function nodeUrls(args: string[]): string[] {
  const flag = args.indexOf('--urls');
  if (flag >= 0 && args[flag + 1]) return parseList(args[flag + 1]!);
  if (process.env.WRITER_CLIENT_URLS) return Object.values(parseKeyedList(process.env.WRITER_CLIENT_URLS));
  return ['http://127.0.0.1:7001', 'http://127.0.0.1:7002', 'http://127.0.0.1:7003'];
}

async function call(url: string, method: 'GET' | 'POST', body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function status(urls: string[]): Promise<number> {
  const rows = await Promise.all(urls.map(async (url) => {
    try {
      return { url, view: (await call(`${url}/v1/cluster`, 'GET')).body };
    } catch (error) {
      return { url, error: (error as Error).message };
    }
  }));
  const columns = ['nodeId', 'role', 'term', 'leaderId', 'commitIndex', 'appliedIndex', 'lastSeq', 'votingBlocked', 'voters', 'learners'];
  console.log(['url', ...columns].join('\t'));
  for (const row of rows) {
    if ('error' in row) console.log(`${row.url}\tunreachable: ${row.error}`);
    else console.log([row.url, ...columns.map((column) => JSON.stringify(row.view[column] ?? null))].join('\t'));
  }
  return rows.some((row) => 'error' in row) ? 1 : 0;
}

async function onAnyNode(urls: string[], path: string, body: unknown): Promise<number> {
  let last = '';
  for (const url of urls) {
    try {
      const answer = await call(`${url}${path}`, 'POST', body);
      console.log(JSON.stringify(answer.body));
      return answer.status === 200 ? 0 : 1;
    } catch (error) {
      last = `${url}: ${(error as Error).message}`;
    }
  }
  console.error(`no node answered (${last})`);
  return 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, target] = argv.filter((arg, index) => !arg.startsWith('--') && argv[index - 1] !== '--urls');
  const urls = nodeUrls(argv);
  switch (command) {
    case 'status':
      return await status(urls);
    case 'add-learner':
    case 'promote':
    case 'remove':
      if (!target) break;
      return await onAnyNode(urls, '/v1/admin/membership', { change: command === 'add-learner' ? 'add_learner' : command, nodeId: target });
    case 'transfer-leadership':
      if (!target) break;
      return await onAnyNode(urls, '/v1/admin/leadership', { to: target });
    default:
      break;
  }
  console.error('usage: ledgerctl status | add-learner <id> | promote <id> | remove <id> | transfer-leadership <id>  [--urls url,url]');
  return 2;
}

process.exitCode = await main(process.argv.slice(2));

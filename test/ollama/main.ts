/**
 * The Ollama-compatible test server as a process:
 *   node dist/test/ollama/main.js --port 0 --models llama3:8b=4700,phi3:latest=2200 [--latency-ms 5]
 *     [--token-delay-ms 0] [--fail-mode none|error|hang|drop]
 * Model sizes are in MB. Prints "ollama test server listening on 127.0.0.1:<port>" once it accepts.
 */
import { parseArgs } from 'node:util';
import { FakeOllama, type FailMode, type FakeModel } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    models: { type: 'string', default: 'llama3:latest=4700' },
    'latency-ms': { type: 'string', default: '0' },
    'token-delay-ms': { type: 'string', default: '0' },
    'fail-mode': { type: 'string', default: 'none' },
  },
});

const models: FakeModel[] = values.models
  .split(',')
  .filter(Boolean)
  .map((entry) => {
    const [name = '', mb = '4096'] = entry.split('=');
    return { name, size: Math.round(Number(mb) * 1024 * 1024) };
  });
const failMode = values['fail-mode'] as FailMode;
const server = new FakeOllama({ models, behaviour: { latencyMs: Number(values['latency-ms']), tokenDelayMs: Number(values['token-delay-ms']), failMode } });
const port = await server.start(Number(values.port));
process.stdout.write(`ollama test server listening on 127.0.0.1:${port}\n`);
const stop = (): void => void server.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

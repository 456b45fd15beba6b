import type { Command } from 'commander';
import { TitanError, ErrorCode } from '../common/errors.js';
import { printJson, withClient, withClientFlags, type GlobalFlags } from './client-command.js';
import { positiveInt } from './settings.js';
import { table } from './format.js';
import { OllamaStatsTap } from '../inference/ndjson-tap.js';

interface InferFlags extends GlobalFlags {
  maxTokens?: string;
  chat?: boolean;
  agents?: boolean;
}

/** `titan infer <model> "prompt"`: route through the master, then call the chosen agent, streaming the answer. */
export function registerInfer(program: Command): void {
  withClientFlags(
    program
      .command('infer')
      .description("ask the cluster's inference agents: routes to the best agent for the model and streams its answer")
      .argument('<model>', 'model name as the agents list it, e.g. llama3:8b')
      .argument('<prompt>', 'the prompt')
      .option('--max-tokens <n>', 'stop after this many tokens')
      .option('--chat', 'use /api/chat (one user message) instead of /api/generate'),
  ).action(async (model: string, prompt: string, flags: InferFlags) => {
    const maxTokens = flags.maxTokens !== undefined ? positiveInt('--max-tokens', flags.maxTokens) : undefined;
    const grant = await withClient(flags, (client) =>
      client.requestInference({ model, prompt, ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}) }),
    );
    const url = flags.chat === true ? grant.chat_url : grant.generate_url;
    const body = {
      model: grant.model,
      ...(flags.chat === true ? { messages: [{ role: 'user', content: prompt }] } : { prompt }),
      stream: true,
      ...(maxTokens !== undefined ? { options: { num_predict: maxTokens } } : {}),
    };
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${grant.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new TitanError(ErrorCode.CONNECTION_CLOSED, `agent ${grant.agent_id} at ${grant.endpoint} is unreachable: ${(err as Error).message}`);
    }
    if (!res.ok || res.body === null) {
      const text = await res.text();
      throw new TitanError(ErrorCode.INTERNAL, `agent ${grant.agent_id} answered ${res.status}: ${text.slice(0, 500)}`);
    }
    const tap = new OllamaStatsTap();
    let answer = '';
    let partial = '';
    for await (const chunk of res.body) {
      const buffer = Buffer.from(chunk);
      tap.push(buffer);
      partial += buffer.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const piece = pieceOf(line);
        answer += piece;
        if (flags.json !== true) process.stdout.write(piece);
      }
    }
    tap.end();
    if (tap.error !== undefined) throw new TitanError(ErrorCode.INTERNAL, `agent ${grant.agent_id}: ${tap.error}`);
    if (flags.json === true)
      printJson({
        agent_id: grant.agent_id,
        endpoint: grant.endpoint,
        model: grant.model,
        score: grant.score,
        response: answer,
        tokens: tap.evalCount,
        done: tap.done,
      });
    else process.stdout.write(`\n`);
    if (!tap.done) throw new TitanError(ErrorCode.CONNECTION_CLOSED, `agent ${grant.agent_id} ended the answer early`);
  });

  withClientFlags(program.command('agents').description('inference agents: models, VRAM, load, RTT, throughput and health')).action(
    async (flags: GlobalFlags) => {
      await withClient(flags, async (client) => {
        const status = await client.inferenceStatus(true);
        if (flags.json === true) return printJson(status);
        const rows = (status.agents ?? []).map((a) => [
          a.agent_id,
          a.status,
          a.models.map((m) => m.name).join(','),
          `${a.vram_free_mb}/${a.vram_total_mb}`,
          `${a.running}/${a.max_concurrency}`,
          a.rtt_ms === null ? '-' : a.rtt_ms.toFixed(1),
          a.tokens_per_sec === null ? '-' : a.tokens_per_sec.toFixed(1),
          a.endpoint,
        ]);
        process.stdout.write(`${table(['AGENT', 'STATUS', 'MODELS', 'VRAM_FREE/TOTAL', 'RUNNING', 'RTT_MS', 'TOK/S', 'ENDPOINT'], rows)}\n`);
      });
    },
  );
}

function pieceOf(line: string): string {
  if (line.trim() === '') return '';
  try {
    const v = JSON.parse(line) as { response?: unknown; message?: { content?: unknown } };
    if (typeof v.response === 'string') return v.response;
    if (typeof v.message?.content === 'string') return v.message.content;
  } catch {
    return '';
  }
  return '';
}

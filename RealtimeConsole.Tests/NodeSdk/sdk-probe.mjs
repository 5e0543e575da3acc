// Runs one call of the official OpenAI Node SDK against a base URL and prints what the SDK made of the answer, as JSON:
//   node sdk-probe.mjs <baseURL> <apiKey> <case>
// SimulatorNodeSdkTests points it at the embedded simulator (<console>/simulator/v1) and checks the SDK's reading.
import OpenAI from 'openai';

const [baseURL, apiKey, probe] = process.argv.slice(2);
// No retries: the tests want the SDK's classification of each answer, not its patience.
const client = new OpenAI({ apiKey, baseURL, maxRetries: 0, timeout: 20_000 });

const probes = {
  'create-secret': () => client.realtime.clientSecrets
    .create({ expires_after: { anchor: 'created_at', seconds: 120 }, session: { type: 'realtime', model: 'gpt-realtime', instructions: 'Be brief.' } })
    .withResponse()
    .then(({ data, response }) => ({
      value: data.value,
      expires_at: data.expires_at,
      session_type: data.session?.type,
      session_model: data.session?.model,
      request_id: response.headers.get('x-request-id'),
      remaining_requests: response.headers.get('x-ratelimit-remaining-requests'),
    })),
  'secret-too-short': () => client.realtime.clientSecrets.create({ expires_after: { anchor: 'created_at', seconds: 5 } }),
  'any-secret': () => client.realtime.clientSecrets.create({}),
  'hang-up-unknown-call': () => client.realtime.calls.hangup('rtc_unknown_call'),
};

try {
  const result = await probes[probe]();
  console.log(JSON.stringify({ ok: true, result: result ?? null }));
} catch (error) {
  if (!(error instanceof OpenAI.APIError)) {
    throw error;
  }

  console.log(JSON.stringify({
    ok: false,
    error_class: error.constructor.name,
    status: error.status ?? null,
    code: error.code ?? null,
    type: error.type ?? null,
    param: error.param ?? null,
    message: error.message,
    request_id: error.requestID ?? null,
    retry_after_ms: error.headers?.get('retry-after-ms') ?? null,
  }));
}

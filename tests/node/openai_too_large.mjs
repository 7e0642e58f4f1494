// SPDX-License-Identifier: ISC
// The official OpenAI SDK sending a prompt of SIZE bytes, as an
// application would, with no retries.  Usage: node openai_too_large.mjs
// BASE_URL SIZE.  Prints one JSON line: the status and error the SDK
// reports ({"status": 413, "code": "...", "type": "..."}), or how the
// call failed without an HTTP answer ({"status": null, "error": "..."}).
import OpenAI from 'openai';

const [baseURL, size] = process.argv.slice(2);
if (!baseURL || !size) {
	console.error('usage: node openai_too_large.mjs BASE_URL SIZE');
	process.exit(2);
}
const client = new OpenAI({
	baseURL,
	apiKey: 'sk-dummy-client-key',
	maxRetries: 0,
	timeout: 30000,
});

try {
	await client.chat.completions.create({
		model: 'llmproxy-test-model',
		messages: [{ role: 'user', content: 'x'.repeat(Number(size)) }],
		max_tokens: 8,
	});
	console.log(JSON.stringify({ status: 200 }));
} catch (e) {
	console.log(JSON.stringify({
		status: e.status ?? null,
		code: e.code ?? null,
		type: e.type ?? null,
		error: String(e.message || e),
	}));
}

// SPDX-License-Identifier: ISC
// The official OpenAI SDK against llmproxyd: one chat.completions.create
// and one streamed call.  Usage: node openai_sdk.mjs BASE_URL
// (e.g. http://127.0.0.1:8080/openai/v1).  The key is OPENAI_API_KEY (the
// daemon replaces it); SDK_HEADERS may hold a JSON object of extra headers.
// Prints one JSON line summarising both calls; exits 1 on any error.
import OpenAI from 'openai';

const baseURL = process.argv[2];
if (!baseURL) {
	console.error('usage: node openai_sdk.mjs BASE_URL');
	process.exit(2);
}
const client = new OpenAI({
	baseURL,
	apiKey: process.env.OPENAI_API_KEY || 'sk-dummy-client-key',
	defaultHeaders: JSON.parse(process.env.SDK_HEADERS || '{}'),
	maxRetries: 0,
	timeout: 30000,
});
const model = process.env.SDK_MODEL || 'llmproxy-test-model';
const messages = [{ role: 'user', content: 'Say hello through llmproxyd.' }];

try {
	const r = await client.chat.completions.create({
		model, messages, max_tokens: 8,
	});
	const stream = await client.chat.completions.create({
		model, messages, max_tokens: 8, stream: true,
	});
	let chunks = 0, text = '', finish = null;
	for await (const chunk of stream) {
		chunks++;
		for (const c of chunk.choices || []) {
			if (c.delta && typeof c.delta.content === 'string')
				text += c.delta.content;
			if (c.finish_reason)
				finish = c.finish_reason;
		}
	}
	console.log(JSON.stringify({
		ok: true,
		create: {
			id: r.id,
			content: r.choices[0].message.content,
			finish_reason: r.choices[0].finish_reason,
			usage: r.usage ?? null,
		},
		stream: { chunks, content: text, finish_reason: finish },
	}));
} catch (e) {
	console.log(JSON.stringify({
		ok: false, error: String(e), status: e.status ?? null,
	}));
	process.exit(1);
}

// SPDX-License-Identifier: ISC
// The official Anthropic SDK against llmproxyd: messages.create, a
// messages.stream (the SDK's helper) and a create({stream: true}).
// Usage: node anthropic_sdk.mjs BASE_URL (e.g. http://127.0.0.1:8080/anthropic).
// The key is ANTHROPIC_API_KEY (the daemon replaces it); SDK_HEADERS may
// hold a JSON object of extra headers.  Prints one JSON summary line;
// exits 1 on any error.
import Anthropic from '@anthropic-ai/sdk';

const baseURL = process.argv[2];
if (!baseURL) {
	console.error('usage: node anthropic_sdk.mjs BASE_URL');
	process.exit(2);
}
const client = new Anthropic({
	baseURL,
	apiKey: process.env.ANTHROPIC_API_KEY || 'sk-ant-dummy-client-key',
	defaultHeaders: JSON.parse(process.env.SDK_HEADERS || '{}'),
	maxRetries: 0,
	timeout: 30000,
});
const model = process.env.SDK_MODEL || 'llmproxy-test-model';
const messages = [{ role: 'user', content: 'Say hello through llmproxyd.' }];

// The text of a message's text blocks.
function textOf(msg) {
	return msg.content.filter((b) => b.type === 'text')
	    .map((b) => b.text).join('');
}

try {
	const r = await client.messages.create({
		model, max_tokens: 8, messages,
	});

	const helper = client.messages.stream({ model, max_tokens: 8, messages });
	let helperEvents = 0, helperText = '';
	const types = [];
	for await (const ev of helper) {
		helperEvents++;
		types.push(ev.type);
		if (ev.type === 'content_block_delta' &&
		    ev.delta.type === 'text_delta')
			helperText += ev.delta.text;
	}
	const final = await helper.finalMessage();

	const raw = await client.messages.create({
		model, max_tokens: 8, messages, stream: true,
	});
	let rawEvents = 0, rawText = '', last = null;
	for await (const ev of raw) {
		rawEvents++;
		last = ev.type;
		if (ev.type === 'content_block_delta' &&
		    ev.delta.type === 'text_delta')
			rawText += ev.delta.text;
	}
	console.log(JSON.stringify({
		ok: true,
		create: {
			id: r.id, content: textOf(r), stop_reason: r.stop_reason,
			usage: r.usage ?? null,
		},
		stream: {
			events: helperEvents, types, content: helperText,
			final_content: textOf(final),
			stop_reason: final.stop_reason,
		},
		raw_stream: { events: rawEvents, content: rawText, last },
	}));
} catch (e) {
	console.log(JSON.stringify({
		ok: false, error: String(e), status: e.status ?? null,
	}));
	process.exit(1);
}

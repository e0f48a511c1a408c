'use strict';
// tests/interop/http.test.js: the unmodified Node device SDK's HTTP transport
// (azure-iot-device-http) against simhub's HTTPS device API, as a device: sendEvent with
// properties and sendEventBatch (rows checked in d2c_messages_view), C2D through the transport's
// polling receiver and the 'message' event, then complete, reject and abandon (states, outcomes
// and delivery counts checked in c2d_messages), and refused credentials. The SDK dials :443;
// hub.js's FixedPortAgent (the documented `http.agent` option) moves it to the https port.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Message } = require('azure-iot-device');
const { startHub, KEYS, FixedPortAgent, withTimeout, appProperties, messageQueue } = require('./hub.js');

const T = 15000;

// The last N rows of dev1's telemetry.
function lastRows(hub, n) {
	return hub.d2c('dev1').slice(-n);
}

// The iothub error code of a refused settle, from the raw response the SDK attaches to the error.
function errorCode(err) {
	return JSON.parse(JSON.parse(err.responseBody).Message).errorCode;
}

describe('device SDK over Http', () => {
	let hub;

	before(async () => {
		hub = await startHub();
	});

	after(async () => {
		const exit = await hub.stop();
		assert.deepEqual(exit, { code: 0, signal: null }, `simhub did not stop cleanly: ${hub.stderr()}`);
	});

	describe('telemetry', () => {
		let client;

		before(async () => {
			client = await hub.client('dev1', 'Http');
			await withTimeout(client.open(), T, 'open');
		});

		after(async () => {
			await hub.closeClient(client);
		});

		it('sendEvent with message id, correlation id, content type/encoding, app properties and dt-subject is stored', async () => {
			const before = hub.d2c('dev1').length;
			const msg = new Message(JSON.stringify({ temperature: 21.5 }));
			msg.messageId = 'http-msg-1';
			msg.correlationId = 'corr-h1';
			msg.contentType = 'application/json';
			msg.contentEncoding = 'utf-8';
			msg.properties.add('alert', 'high');
			// Names travel as header names (no spaces: Node refuses them); values may hold & = / and spaces.
			msg.properties.add('unit', 'deg C & more=/x');
			msg.properties.add('dt-subject', 'thermostat1'); // the SDK sends it without iothub-app-
			const result = await withTimeout(client.sendEvent(msg), T, 'sendEvent');
			assert.equal(result.constructor.name, 'MessageEnqueued');

			// simhub answers after the commit, so the row is there once sendEvent resolved.
			const rows = hub.d2c('dev1');
			assert.equal(rows.length, before + 1);
			const row = rows[rows.length - 1];
			assert.equal(row.module_id || null, null);
			assert.equal(row.message_id, 'http-msg-1');
			assert.equal(row.content_type, 'application/json');
			assert.equal(row.content_encoding, 'utf-8');
			assert.equal(row.body_text, '{"temperature":21.5}');
			assert.deepEqual(JSON.parse(row.app_properties), { alert: 'high', unit: 'deg C & more=/x' });
			const sys = JSON.parse(row.system_properties);
			assert.equal(sys['correlation-id'], 'corr-h1');
			assert.equal(sys['dt-subject'], 'thermostat1');
			assert.equal(sys.to, '/devices/dev1/messages/events');
			assert.equal(sys['iothub-connection-device-id'], 'dev1');
		});

		it('sendEvent with a binary body and a security message', async () => {
			await withTimeout(client.sendEvent(new Message(Buffer.from([0, 1, 2, 0xff]))), T, 'sendEvent');
			const [row] = lastRows(hub, 1);
			assert.equal(row.body_bytes, 4);
			assert.equal(row.message_id, null);
			const [raw] = hub.sql(`SELECT hex(body) AS hex FROM d2c_messages WHERE seq = ${Number(row.seq)}`);
			assert.equal(raw.hex, '000102FF');

			const sec = new Message(JSON.stringify({ securityEvent: 'login' }));
			sec.setAsSecurityMessage();
			await withTimeout(client.sendEvent(sec), T, 'sendEvent');
			assert.equal(lastRows(hub, 1)[0].interface_id, 'urn:azureiot:Security:SecurityAgent:1');
		});

		it('sendEventBatch stores every message with its body and properties, in order', async () => {
			const before = hub.d2c('dev1').length;
			const one = new Message('one');
			one.properties.add('k', 'v');
			one.properties.add('dt-subject', 'comp1');
			const two = new Message(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
			const three = new Message(JSON.stringify({ n: 3 }));
			three.properties.add('seq', '3');
			const result = await withTimeout(client.sendEventBatch([one, two, three]), T, 'sendEventBatch');
			assert.equal(result.constructor.name, 'MessageEnqueued');
			const rows = hub.d2c('dev1');
			assert.equal(rows.length, before + 3);
			const [r1, r2, r3] = rows.slice(-3);
			assert.equal(r1.body_text, 'one');
			assert.deepEqual(JSON.parse(r1.app_properties), { k: 'v' });
			assert.equal(JSON.parse(r1.system_properties)['dt-subject'], 'comp1');
			const [raw] = hub.sql(`SELECT hex(body) AS hex FROM d2c_messages WHERE seq = ${Number(r2.seq)}`);
			assert.equal(raw.hex, 'DEADBEEF');
			assert.deepEqual(JSON.parse(r2.app_properties), {});
			assert.equal(r3.body_text, '{"n":3}');
			assert.deepEqual(JSON.parse(r3.app_properties), { seq: '3' });
			for (const r of [r1, r2, r3]) assert.equal(JSON.parse(r.system_properties)['iothub-connection-device-id'], 'dev1');
		});
	});

	describe('C2D through the polling receiver', () => {
		let client;
		let queue;

		before(async () => {
			client = await hub.client('dev1', 'Http');
			client.on('error', () => {});
			await withTimeout(client.open(), T, 'open');
			queue = messageQueue(client);
		});

		after(async () => {
			queue.stop();
			await hub.closeClient(client);
		});

		it('a message queued before the listener is received with its properties, completed once, then refused', async () => {
			const expiry = new Date(Date.now() + 10 * 60 * 1000);
			await hub.sendC2D('dev1', {
				body: 'hello over http',
				messageId: 'h-c2d-1',
				correlationId: 'corr-9',
				expiry,
				app: { color: 'green', mode: 'a & b' },
			});
			assert.equal(hub.c2dRows('dev1')[0].state, 'enqueued');

			// The first 'message' listener starts the transport's polling (GET .../devicebound).
			queue.listen();
			const msg = await queue.next('the queued message');
			assert.equal(msg.data.toString(), 'hello over http');
			assert.equal(msg.messageId, 'h-c2d-1');
			assert.equal(msg.correlationId, 'corr-9');
			assert.equal(msg.to, '/devices/dev1/messages/devicebound');
			assert.equal(new Date(msg.expiryTimeUtc).getTime(), expiry.getTime());
			// The HTTP transport keeps the header name as the key, prefix included (SDK behaviour;
			// the MQTT transport strips it): see node-sdk-device-https.md.
			assert.deepEqual(appProperties(msg), { 'iothub-app-color': 'green', 'iothub-app-mode': 'a & b' });
			// The lock token is the ETag without its quotes: the one simhub holds for the message.
			const locked = hub.c2dRows('dev1').find((r) => r.message_id === 'h-c2d-1');
			assert.equal(locked.state, 'invisible');
			assert.equal(locked.lock_token, msg.lockToken);

			const done = await withTimeout(client.complete(msg), T, 'complete');
			assert.equal(done.constructor.name, 'MessageCompleted');
			const row = hub.c2dRows('dev1').find((r) => r.message_id === 'h-c2d-1');
			assert.deepEqual([row.state, row.outcome, row.delivery_count, row.lock_token], ['completed', 'completed', 0, null]);

			// The lock is gone: a second complete is 412 DeviceMessageLockLost (412002).
			await assert.rejects(withTimeout(client.complete(msg), T, 'complete again'), (err) => {
				assert.equal(err.response.statusCode, 412);
				assert.equal(errorCode(err), 412002);
				return true;
			});
		});

		it('reject dead-letters the message and it is not delivered again', async () => {
			await hub.sendC2D('dev1', { body: 'reject me', messageId: 'h-c2d-rej' }, { envelope: true });
			const msg = await queue.next('the message to reject');
			assert.equal(msg.messageId, 'h-c2d-rej');
			const res = await withTimeout(client.reject(msg), T, 'reject');
			assert.equal(res.constructor.name, 'MessageRejected');
			const row = hub.c2dRows('dev1').find((r) => r.message_id === 'h-c2d-rej');
			assert.deepEqual([row.state, row.outcome, row.delivery_count], ['deadlettered', 'rejected', 0]);
		});

		it('abandon puts the message back; it comes again with a new lock and delivery count 1, then completes', async () => {
			await hub.sendC2D('dev1', { body: 'abandon me', messageId: 'h-c2d-ab', app: { try: 'x' } });
			const first = await queue.next('the message to abandon');
			// A message rejected in the previous test would arrive here instead.
			assert.equal(first.messageId, 'h-c2d-ab');
			const res = await withTimeout(client.abandon(first), T, 'abandon');
			assert.equal(res.constructor.name, 'MessageAbandoned');
			const row = hub.c2dRows('dev1').find((r) => r.message_id === 'h-c2d-ab');
			assert.equal(row.delivery_count, 1);
			assert.ok(['enqueued', 'invisible'].includes(row.state), row.state);
			assert.notEqual(row.lock_token, first.lockToken);

			const again = await queue.next('the abandoned message, again');
			assert.equal(again.messageId, 'h-c2d-ab');
			assert.equal(again.data.toString(), 'abandon me');
			assert.deepEqual(appProperties(again), { 'iothub-app-try': 'x' });
			assert.notEqual(again.lockToken, first.lockToken);
			// The old lock no longer settles it.
			await assert.rejects(withTimeout(client.complete(first), T, 'complete with the old lock'),
				(err) => err.response.statusCode === 412);
			await withTimeout(client.complete(again), T, 'complete');
			const done = hub.c2dRows('dev1').find((r) => r.message_id === 'h-c2d-ab');
			assert.deepEqual([done.state, done.outcome, done.delivery_count], ['completed', 'completed', 1]);
			assert.equal(queue.pending(), 0, 'nothing was delivered twice');
			assert.deepEqual(hub.c2dRows('dev1').filter((r) => ['enqueued', 'invisible'].includes(r.state)), []);
		});
	});

	describe('refused credentials', () => {
		it('a wrong key: sendEvent and sendEventBatch fail with UnauthorizedError, nothing is stored', async () => {
			const before = hub.d2c('dev1').length;
			const bad = await hub.client('dev1', 'Http', KEYS.wrong);
			await withTimeout(bad.open(), T, 'open'); // HTTP opens without a request
			await assert.rejects(withTimeout(bad.sendEvent(new Message('x')), T, 'sendEvent'), { name: 'UnauthorizedError' });
			await assert.rejects(withTimeout(bad.sendEventBatch([new Message('y')]), T, 'sendEventBatch'),
				{ name: 'UnauthorizedError' });
			await hub.closeClient(bad);
			assert.equal(hub.d2c('dev1').length, before);
		});

		it('an unknown device is refused with UnauthorizedError', async () => {
			const ghost = await hub.clientFromConnectionString(`HostName=${hub.host};DeviceId=ghost;SharedAccessKey=${KEYS.dev1}`, 'Http');
			await assert.rejects(withTimeout(ghost.sendEvent(new Message('boo')), T, 'sendEvent'), { name: 'UnauthorizedError' });
			await hub.closeClient(ghost);
		});

		it('a wrong key polls without taking the queued message; the right key then gets it', async () => {
			await hub.sendC2D('dev1', { body: 'for the right key', messageId: 'h-c2d-key' });
			// The SDK swallows receive errors (debug log only), so count its requests instead.
			const agent = new FixedPortAgent(hub.ready.https, { ca: hub.ca, keepAlive: false }); // one connection a request
			const bad = await hub.client('dev1', 'Http', KEYS.wrong, { http: { agent, receivePolicy: { interval: 0.05 } } });
			bad.on('error', () => {});
			const badQueue = messageQueue(bad);
			badQueue.listen();
			const deadline = Date.now() + 5000;
			while ((agent.connections || 0) < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
			assert.ok(agent.connections >= 5, `the SDK polled ${agent.connections} times`);
			badQueue.stop();
			await hub.closeClient(bad);
			assert.equal(badQueue.pending(), 0);
			const row = hub.c2dRows('dev1').find((r) => r.message_id === 'h-c2d-key');
			assert.deepEqual([row.state, row.delivery_count], ['enqueued', 0]);

			const good = await hub.client('dev1', 'Http');
			const goodQueue = messageQueue(good);
			goodQueue.listen();
			const msg = await goodQueue.next('the message, with the right key');
			assert.equal(msg.messageId, 'h-c2d-key');
			await withTimeout(good.complete(msg), T, 'complete');
			goodQueue.stop();
			await hub.closeClient(good);
		});
	});
});

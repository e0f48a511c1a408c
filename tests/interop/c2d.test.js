'use strict';
// tests/interop/c2d.test.js: cloud-to-device messages seen by the unmodified Node device SDK
// (azure-iot-device + azure-iot-device-mqtt) over MQTT/TLS and MQTT/WebSocket, as a device
// (modules get no C2D). The service side is simhub's injection endpoint
// (POST /devices/{id}/messages/deviceBound, header and JSON envelope forms); the SDK's 'message'
// event must carry the body, message id, correlation id, expiry and application properties, and
// the queue in SQLite (c2d_messages) must show the message completed once the SDK acknowledged it.
// The HTTP transport's C2D is in http.test.js. It never patches the SDK.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startHub, withTimeout, appProperties, messageQueue } = require('./hub.js');

const TRANSPORTS = ['Mqtt', 'MqttWs'];
const T = 15000;

// The SDK's PUBACK settles the message; no SDK call waits for it, so the tests poll for this.
function isCompleted(row) {
	return row.state === 'completed';
}

for (const transport of TRANSPORTS) {
	describe(`C2D to the device SDK over ${transport}`, () => {
		let hub;
		let client;
		let queue;

		before(async () => {
			hub = await startHub();
			client = await hub.client('dev1', transport);
			client.on('error', () => {}); // surfaced through the assertions below instead
			await withTimeout(client.open(), T, 'open');
			queue = messageQueue(client);
		});

		after(async () => {
			queue.stop();
			await hub.closeClient(client);
			const exit = await hub.stop();
			assert.deepEqual(exit, { code: 0, signal: null }, `simhub did not stop cleanly: ${hub.stderr()}`);
		});

		it('a message queued before the SDK subscribes is delivered once it does, with its properties', async () => {
			const expiry = new Date(Date.now() + 10 * 60 * 1000);
			await hub.sendC2D('dev1', {
				body: '{"cmd":"reboot","delay":5}',
				messageId: `early-${transport}`,
				correlationId: 'corr-early',
				expiry,
				app: { color: 'green', 'IoTHub-Mixed': 'Case Stays' },
			});
			const [queued] = hub.c2dRows('dev1');
			assert.equal(queued.state, 'enqueued', 'nobody has subscribed yet');

			// Adding the first 'message' listener makes the SDK subscribe to devicebound/#.
			queue.listen();
			const msg = await queue.next('the queued message');
			assert.equal(msg.data.toString('utf8'), '{"cmd":"reboot","delay":5}');
			assert.equal(msg.messageId, `early-${transport}`);
			assert.equal(msg.correlationId, 'corr-early');
			assert.equal(msg.to, '/devices/dev1/messages/devicebound');
			assert.equal(new Date(msg.expiryTimeUtc).getTime(), expiry.getTime());
			// Header names are case-insensitive: the name arrives lower-cased (docs/differences.md).
			assert.deepEqual(appProperties(msg), { color: 'green', 'iothub-mixed': 'Case Stays' });

			// complete() is a no-op over MQTT (the SDK's PUBACK already settled the message).
			const result = await withTimeout(client.complete(msg), T, 'complete');
			assert.equal(result.constructor.name, 'MessageCompleted');
			const row = await hub.c2dRowWhen('dev1', `early-${transport}`, isCompleted);
			assert.equal(row.outcome, 'completed');
			assert.equal(row.delivery_count, 0);
			assert.equal(row.lock_token, null);
		});

		it('a live message arrives (JSON envelope: property names keep their case, values are URL-encoded on the topic)', async () => {
			await hub.sendC2D('dev1', {
				body: 'live ü',
				messageId: `live-${transport}`,
				correlationId: 'c/1 & 2',
				contentType: 'text/plain',
				app: { Mode: 'eco', 'with space&=/': 'v 1&2=3/ü%' },
			}, { envelope: true });
			const msg = await queue.next('the live message');
			assert.equal(msg.data.toString('utf8'), 'live ü');
			assert.equal(msg.messageId, `live-${transport}`);
			assert.equal(msg.correlationId, 'c/1 & 2');
			assert.equal(msg.contentType, 'text/plain');
			assert.deepEqual(appProperties(msg), { Mode: 'eco', 'with space&=/': 'v 1&2=3/ü%' });
			const row = await hub.c2dRowWhen('dev1', `live-${transport}`, isCompleted);
			assert.equal(row.outcome, 'completed');
		});

		it('three messages queued back to back arrive in order, each once, a binary body byte for byte', async () => {
			const ids = [1, 2, 3].map((n) => `burst-${transport}-${n}`);
			await hub.sendC2D('dev1', { body: Buffer.from([0, 1, 2, 0xfe, 0xff]), messageId: ids[0] }, { envelope: true });
			await hub.sendC2D('dev1', { body: 'second', messageId: ids[1] });
			await hub.sendC2D('dev1', { body: '', messageId: ids[2], app: { empty: '' } });
			const got = [];
			for (let i = 0; i < ids.length; i++) got.push(await queue.next(`burst message ${i + 1}`));
			assert.deepEqual(got.map((m) => m.messageId), ids);
			assert.deepEqual([...got[0].data], [0, 1, 2, 0xfe, 0xff]);
			assert.equal(got[1].data.toString(), 'second');
			assert.equal(got[2].data.length, 0);
			assert.deepEqual(appProperties(got[2]), { empty: '' });
			for (const id of ids) await hub.c2dRowWhen('dev1', id, isCompleted);
			assert.equal(queue.pending(), 0, 'no message was delivered twice');
			const active = hub.c2dRows('dev1').filter((r) => r.state !== 'completed');
			assert.deepEqual(active, []);
		});
	});
}

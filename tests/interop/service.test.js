'use strict';
// tests/interop/service.test.js: service-side triggers seen by the unmodified Node device SDK:
// a desired patch through the service REST API (PATCH /twins/{id}[/modules/{mid}]) reaches the
// SDK's 'properties.desired' event, and a direct method (POST .../methods) reaches the SDK's
// method handler and comes back with its status and payload. Over MQTT/TLS and MQTT/WebSocket,
// as a device and as a module. Service calls are plain HTTPS requests signed with iothubowner.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startHub, withTimeout } = require('./hub.js');

const TRANSPORTS = ['Mqtt', 'MqttWs'];
const IDENTITIES = [
	{ id: 'dev1', path: '/twins/dev1', key: 'temp' },
	{ id: 'dev1/mod1', path: '/twins/dev1/modules/mod1', key: 'mode' },
];
const T = 15000;

// Listens on 'properties.desired' and resolves {arrived}, once the SDK's SUBSCRIBE to the desired
// topic is acknowledged, where ARRIVED is a promise of the first event value for which PRED is
// true. Adding the first listener makes the SDK subscribe; the public
// twin.enableTwinDesiredPropertiesUpdates(cb) then calls back after the SUBACK. Without that wait
// a patch could be sent before the subscription exists, and IoT Hub does not queue desired
// notifications (iothub-protocol.md §12.17), so the test would race.
async function listenDesired(twin, pred) {
	const arrived = new Promise((resolve) => {
		const onDesired = (delta) => {
			if (pred(delta)) {
				twin.removeListener('properties.desired', onDesired);
				resolve(JSON.parse(JSON.stringify(delta)));
			}
		};
		twin.on('properties.desired', onDesired);
	});
	await new Promise((resolve, reject) => {
		twin.enableTwinDesiredPropertiesUpdates((err) => (err ? reject(err) : resolve()));
	});
	return { arrived };
}

// Invokes a direct method. The SDK subscribes to $iothub/methods/POST/# asynchronously after
// onDeviceMethod and offers no completion signal, so the call uses IoT Hub's
// connectTimeoutInSeconds: simhub holds it until the device has subscribed.
async function invokeMethod(hub, path, body) {
	return hub.service('POST', path, body);
}

for (const transport of TRANSPORTS) {
	describe(`service triggers seen by the device SDK over ${transport}`, () => {
		let hub;

		before(async () => {
			hub = await startHub();
		});

		after(async () => {
			const exit = await hub.stop();
			assert.deepEqual(exit, { code: 0, signal: null }, `simhub did not stop cleanly: ${hub.stderr()}`);
		});

		for (const ident of IDENTITIES) {
			describe(ident.id.includes('/') ? 'as a module' : 'as a device', () => {
				let client;

				before(async () => {
					client = await hub.client(ident.id, transport);
					await withTimeout(client.open(), T, 'open');
				});

				after(async () => {
					await hub.closeClient(client);
				});

				it('a service desired patch arrives as a properties.desired event', async () => {
					const twin = await withTimeout(client.getTwin(), T, 'getTwin');
					const value = `${transport}-${Date.now()}`;
					const { arrived } = await listenDesired(twin, (d) => d[ident.key] === value);
					const res = await hub.service('PATCH', ident.path,
						{ properties: { desired: { [ident.key]: value, added: { n: 1 } } } }, { 'If-Match': '"*"' });
					assert.equal(res.status, 200, JSON.stringify(res.body));
					const serviceVersion = res.body.properties.desired.$version;
					const delta = await withTimeout(arrived, T, 'desired notification');
					// The notification is the patch itself plus its $version (iothub-protocol.md §3.4).
					assert.equal(delta.$version, serviceVersion);
					assert.deepEqual(delta.added, { n: 1 });
					// The SDK merged it into its twin copy.
					assert.equal(twin.properties.desired[ident.key], value);
					assert.equal(twin.properties.desired.$version, serviceVersion);

					// A removal (null) arrives too, and a later getTwin agrees with the service.
					const { arrived: removed } = await listenDesired(twin, (d) => d.added === null);
					const res2 = await hub.service('PATCH', ident.path,
						{ properties: { desired: { added: null } } }, { 'If-Match': '"*"' });
					assert.equal(res2.status, 200, JSON.stringify(res2.body));
					const delta2 = await withTimeout(removed, T, 'desired notification (removal)');
					assert.equal(delta2.$version, serviceVersion + 1);
					const fresh = await withTimeout(client.getTwin(), T, 'getTwin');
					assert.equal(fresh.properties.desired.added, undefined);
					assert.equal(fresh.properties.desired.$version, serviceVersion + 1);
				});

				it('a direct method reaches the handler and its answer comes back to the service', async () => {
					const seen = [];
					const handler = (request, response) => {
						seen.push({ name: request.methodName, payload: request.payload });
						const status = request.payload && request.payload.fail ? 409 : 200;
						response.send(status, { rebooted: status === 200, echo: request.payload }, () => {});
					};
					if (ident.id.includes('/')) client.onMethod('reboot', handler);
					else client.onDeviceMethod('reboot', handler);

					const call = (payload) => invokeMethod(hub, `${ident.path}/methods`, {
						methodName: 'reboot', payload, responseTimeoutInSeconds: 10, connectTimeoutInSeconds: 5,
					});
					const res = await withTimeout(call({ delay: 5, note: 'ü &/?' }), T, 'method call');
					assert.equal(res.status, 200, JSON.stringify(res.body));
					assert.deepEqual(res.body, { status: 200, payload: { rebooted: true, echo: { delay: 5, note: 'ü &/?' } } });
					assert.deepEqual(seen[0], { name: 'reboot', payload: { delay: 5, note: 'ü &/?' } });

					// The device's status is carried in the body; the HTTP status stays 200.
					const res2 = await withTimeout(call({ fail: true }), T, 'method call');
					assert.equal(res2.status, 200, JSON.stringify(res2.body));
					assert.deepEqual(res2.body, { status: 409, payload: { rebooted: false, echo: { fail: true } } });
					assert.equal(seen.length, 2);
				});
			});
		}
	});
}

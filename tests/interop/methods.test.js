'use strict';
// tests/interop/methods.test.js: direct methods from the official service SDK azure-iothub
// (Client.invokeDeviceMethod, unmodified, over HTTPS: POST /twins/{id}[/modules/{mid}]/methods)
// to a device and a module connected with the official device SDK (azure-iot-device-mqtt) on a
// real simhub. It covers the device's answer (status and payload), an offline device or module
// (404103 DeviceNotOnline) and a connected device that never answers (504101 GatewayTimeout).
// It also checks that a desired change made with Registry.updateTwin reaches the connected
// device SDK at once.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startHub, defaultFixture, withTimeout, runWithSharedCa } = require('./hub.js');

const T = 15000;

function fixture() {
	const f = defaultFixture();
	// Never connected: the offline cases.
	f.devices.push({
		id: 'offline1',
		authentication: { type: 'sas', primaryKey: 'b2ZmbGluZS1kZXZpY2Uta2V5LWludGVyb3AtMDAwMDE=' },
		modules: [{ id: 'offmod', authentication: { type: 'sas', primaryKey: 'b2ZmbGluZS1tb2R1bGUta2V5LWludGVyb3AtMDAwMDE=' } }],
	});
	return f;
}

// Resolves the SDK call's rejection, or fails when it resolves.
async function rejection(promise) {
	try {
		const r = await promise;
		assert.fail(`expected a rejection, got ${JSON.stringify(r && r.result)}`);
	} catch (e) {
		if (e instanceof assert.AssertionError) throw e;
		return e;
	}
}

// The IoT Hub error code in an error answer's legacy body: "ErrorCode:<Name>;<text>".
function errorName(e) {
	return JSON.parse(e.responseBody).Message.split(';')[0].replace(/^ErrorCode:/, '');
}

if (runWithSharedCa()) {
	describe('azure-iothub Client.invokeDeviceMethod (and a desired push) against simhub', () => {
		let hub;
		let service;
		let device;
		let module;
		const seen = [];

		before(async () => {
			hub = await startHub({ fixture: fixture(), sharedCa: true });
			service = hub.serviceClient();
			device = await hub.client('dev1', 'Mqtt');
			module = await hub.client('dev1/mod1', 'Mqtt');
			await withTimeout(device.open(), T, 'device open');
			await withTimeout(module.open(), T, 'module open');
			device.onDeviceMethod('reboot', (request, response) => {
				seen.push({ who: 'device', name: request.methodName, payload: request.payload });
				const status = request.payload && request.payload.refuse ? 403 : 200;
				response.send(status, { rebooted: status === 200, echo: request.payload }, () => {});
			});
			module.onMethod('reset', (request, response) => {
				seen.push({ who: 'module', name: request.methodName, payload: request.payload });
				response.send(201, `reset ${request.payload}`, () => {});
			});
		});

		after(async () => {
			const exit = await hub.stop();
			assert.deepEqual(exit, { code: 0, signal: null }, `simhub did not stop cleanly: ${hub.stderr()}`);
		});

		// onDeviceMethod subscribes asynchronously and has no completion signal, so calls to a
		// handler give IoT Hub's connectTimeoutInSeconds: simhub holds them until the subscription.
		it('invokes a method on a connected device and returns its status and payload', async () => {
			const payload = { delay: 5, note: 'ü &/?' };
			const { result, message } = await withTimeout(service.invokeDeviceMethod('dev1', {
				methodName: 'reboot', payload, responseTimeoutInSeconds: 10, connectTimeoutInSeconds: 5,
			}), T, 'invokeDeviceMethod');
			assert.equal(message.statusCode, 200);
			assert.deepEqual(result, { status: 200, payload: { rebooted: true, echo: payload } });
			assert.deepEqual(seen.at(-1), { who: 'device', name: 'reboot', payload });

			// The device's own status comes back in the result; the HTTP status stays 200.
			const refused = (await withTimeout(service.invokeDeviceMethod('dev1', {
				methodName: 'reboot', payload: { refuse: true }, responseTimeoutInSeconds: 10, connectTimeoutInSeconds: 5,
			}), T, 'invokeDeviceMethod')).result;
			assert.deepEqual(refused, { status: 403, payload: { rebooted: false, echo: { refuse: true } } });
		});

		it('invokes a method on a connected module (invokeDeviceMethod(deviceId, moduleId, ...))', async () => {
			const { result, message } = await withTimeout(service.invokeDeviceMethod('dev1', 'mod1', {
				methodName: 'reset', payload: 'now', responseTimeoutInSeconds: 10, connectTimeoutInSeconds: 5,
			}), T, 'invokeDeviceMethod (module)');
			assert.equal(message.statusCode, 200);
			assert.deepEqual(result, { status: 201, payload: 'reset now' });
			assert.deepEqual(seen.at(-1), { who: 'module', name: 'reset', payload: 'now' });
		});

		it('fails with 404103 DeviceNotOnline for a device or module that is not connected', async () => {
			const started = Date.now();
			// The SDK's defaults: connectTimeoutInSeconds 0, so the hub answers at once.
			const e = await rejection(withTimeout(service.invokeDeviceMethod('offline1', { methodName: 'reboot' }), T, 'invokeDeviceMethod'));
			assert.equal(e.response && e.response.statusCode, 404, `${e.constructor.name}: ${e.message}`);
			assert.equal(e.response.headers['iothub-errorcode'], 'DeviceNotOnline');
			assert.equal(errorName(e), 'DeviceNotOnline');
			// The SDK's translateError knows only DeviceNotFound and IotHubNotFound on a 404:
			// anything else is a plain Error('Not found'), with the body kept on the error.
			assert.equal(e.message, 'Not found');
			assert.ok(Date.now() - started < 3000, 'answered without waiting');

			const m = await rejection(withTimeout(service.invokeDeviceMethod('offline1', 'offmod', { methodName: 'reset' }), T, 'invokeDeviceMethod (module)'));
			assert.equal(m.response && m.response.statusCode, 404, `${m.constructor.name}: ${m.message}`);
			assert.equal(errorName(m), 'DeviceNotOnline');

			// An identity that does not exist is DeviceNotFound, which the SDK does translate.
			const u = await rejection(withTimeout(service.invokeDeviceMethod('no-such-device', { methodName: 'reboot' }), T, 'invokeDeviceMethod'));
			assert.equal(u.constructor.name, 'DeviceNotFoundError', `${u.constructor.name}: ${u.message}`);
		});

		it('a desired change made with Registry.updateTwin reaches the connected device SDK', async () => {
			const registry = hub.registry();
			const twin = await withTimeout(device.getTwin(), T, 'device getTwin');
			const value = `svc-${Date.now()}`;
			const arrived = new Promise((resolve) => {
				const onDesired = (delta) => {
					if (delta.temp === value) {
						twin.removeListener('properties.desired', onDesired);
						resolve(JSON.parse(JSON.stringify(delta)));
					}
				};
				twin.on('properties.desired', onDesired);
			});
			// Desired notifications are not queued: wait for the SDK's SUBACK first (service.test.js).
			await new Promise((resolve, reject) => {
				twin.enableTwinDesiredPropertiesUpdates((err) => (err ? reject(err) : resolve()));
			});
			const updated = (await registry.updateTwin('dev1', { properties: { desired: { temp: value } } }, '*')).responseBody;
			const delta = await withTimeout(arrived, T, 'desired notification');
			assert.equal(delta.$version, updated.properties.desired.$version);
			assert.equal(twin.properties.desired.temp, value);
		});

		it('fails with 504101 GatewayTimeout when a connected device never answers', async () => {
			// The device subscribed to methods (it has a 'reboot' handler) but has no handler for
			// 'selftest': the SDK drops the request and nothing ever answers.
			const started = Date.now();
			const e = await rejection(withTimeout(service.invokeDeviceMethod('dev1', {
				methodName: 'selftest', payload: {}, responseTimeoutInSeconds: 5,
			}), T, 'invokeDeviceMethod'));
			const took = Date.now() - started;
			assert.equal(e.constructor.name, 'GatewayTimeoutError', `${e.constructor.name}: ${e.message}`);
			assert.equal(e.response.statusCode, 504);
			assert.equal(errorName(e), 'GatewayTimeout');
			assert.ok(took >= 4900 && took < 9000, `answered after ${took} ms; responseTimeoutInSeconds was 5`);
			// The device is still there and answers the next call.
			const ok = (await withTimeout(service.invokeDeviceMethod('dev1', {
				methodName: 'reboot', payload: 1, responseTimeoutInSeconds: 10,
			}), T, 'invokeDeviceMethod')).result;
			assert.equal(ok.status, 200);
		});
	});
}

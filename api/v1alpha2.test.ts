import * as protobuf from 'protobufjs';
import { loadCri } from './index';
import { loadCriV1alpha2, METHODS_ADDED_IN_V1, v1alpha2Root } from './v1alpha2';

describe('the v1alpha2 surface', () => {
  const v1 = loadCri().runtime.v1;
  const v1alpha2 = loadCriV1alpha2();

  test.each(['RuntimeService', 'ImageService'] as const)(
    '%s has v1 methods under the v1alpha2 paths',
    (name) => {
      const methods = v1alpha2[name].service;
      const added = METHODS_ADDED_IN_V1[name];
      const expected = Object.keys(v1[name].service).filter((m) => !added.includes(m));
      expect(Object.keys(methods).sort()).toEqual(expected.sort());
      for (const [method, definition] of Object.entries(methods)) {
        expect(definition.path).toBe(`/runtime.v1alpha2.${name}/${method}`);
      }
    },
  );

  test('the upstream v1alpha2 method count: 29 RPCs in the two services', () => {
    expect(
      Object.keys(v1alpha2.RuntimeService.service).length + Object.keys(v1alpha2.ImageService.service).length,
    ).toBe(29);
  });

  test('a v1alpha2 KeyValue (string value) decodes to the same bytes a v1 client sends', () => {
    // KeyValue as upstream v1alpha2 declares it: value is a string there.
    const upstream = new protobuf.Type('KeyValue')
      .add(new protobuf.Field('key', 1, 'string'))
      .add(new protobuf.Field('value', 2, 'string'));
    new protobuf.Root().define('upstream').add(upstream);
    const wire = upstream.encode({ key: 'GREETING', value: 'grüße, 世界' }).finish();
    const ours = v1alpha2Root().lookupType('runtime.v1alpha2.KeyValue');
    const decoded = ours.toObject(ours.decode(wire)) as { key: string; value: Uint8Array };
    expect(decoded.key).toBe('GREETING');
    expect(Buffer.from(decoded.value).toString('utf8')).toBe('grüße, 世界');
  });

  test('no v1alpha2 response can carry a KeyValue, so no non-UTF-8 bytes reach a string field', () => {
    const root = v1alpha2Root();
    const reachable = new Set<string>();
    const visit = (type: protobuf.Type) => {
      if (reachable.has(type.fullName)) return;
      reachable.add(type.fullName);
      for (const field of type.fieldsArray) {
        const resolved = field.resolve().resolvedType;
        if (resolved instanceof protobuf.Type) visit(resolved);
      }
    };
    for (const service of ['RuntimeService', 'ImageService']) {
      for (const method of root.lookupService(`runtime.v1alpha2.${service}`).methodsArray) {
        visit((method.resolve() as protobuf.Method).resolvedResponseType!);
      }
    }
    expect(reachable.size).toBeGreaterThan(50);
    expect(reachable.has('.runtime.v1alpha2.KeyValue')).toBe(false);
  });
});

describe('the v1alpha2 services are v1 definitions at other paths', () => {
  test('they share v1 (de)serializers: the proto is parsed once', () => {
    const v1 = loadCri().runtime.v1.RuntimeService.service;
    const v1alpha2 = loadCriV1alpha2().RuntimeService.service;
    expect(v1alpha2.RunPodSandbox.requestDeserialize).toBe(v1.RunPodSandbox.requestDeserialize);
    expect(v1alpha2.RunPodSandbox.responseSerialize).toBe(v1.RunPodSandbox.responseSerialize);
    expect(loadCriV1alpha2()).toBe(loadCriV1alpha2());
  });

  test('a request encoded from the v1alpha2 schema decodes through the served definition', () => {
    const type = v1alpha2Root().lookupType('runtime.v1alpha2.RemoveContainerRequest');
    const bytes = Buffer.from(type.encode(type.fromObject({ container_id: 'abc' })).finish());
    expect(loadCriV1alpha2().RuntimeService.service.RemoveContainer.requestDeserialize(bytes)).toEqual({
      container_id: 'abc',
    });
  });
});

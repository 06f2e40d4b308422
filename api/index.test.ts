import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { CRI_LOADER_OPTIONS, criProtoPath, loadCri } from './index';

const repoRoot = path.resolve(__dirname, '..');
const protoPath = path.join(repoRoot, 'api', 'runtime', 'v1', 'api.proto');

describe('CRI_LOADER_OPTIONS', () => {
  it('are exactly the options the gen script generates the types with', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const fromScript: Record<string, unknown> = {};
    for (const arg of pkg.scripts.gen.split(/\s+/)) {
      const flag = /^--(\w+)(?:=(.*))?$/.exec(arg);
      if (!flag || flag[1] === 'grpcLib' || flag[1] === 'outDir') continue;
      const [, name, value] = flag;
      // proto-loader-gen-types takes the names of constructors (String, Number) as values.
      fromScript[name] = value === undefined ? true : value === 'String' ? String : value;
    }
    expect(fromScript).toEqual({
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    expect(CRI_LOADER_OPTIONS).toEqual(fromScript);
  });
});

describe('criProtoPath', () => {
  let outside: string | undefined;
  afterEach(() => {
    if (outside) fs.rmSync(outside, { recursive: true, force: true });
    outside = undefined;
  });

  it('finds the proto from the sources (api/)', () => {
    expect(criProtoPath()).toBe(protoPath);
    expect(fs.existsSync(criProtoPath())).toBe(true);
  });

  it('finds the proto from the compiled tree (dist/api/), where tsc copied no .proto', () => {
    expect(criProtoPath(path.join(repoRoot, 'dist', 'api'))).toBe(protoPath);
  });

  it('fails clearly outside the package', () => {
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-'));
    expect(() => criProtoPath(outside)).toThrow(/cannot find berth's package root/);
  });
});

describe('loadCri', () => {
  it('returns both services with grpc paths in package runtime.v1', () => {
    const cri = loadCri();
    const runtime = cri.runtime.v1.RuntimeService.service;
    const image = cri.runtime.v1.ImageService.service;
    expect(Object.keys(runtime)).toHaveLength(37);
    expect(Object.keys(image)).toHaveLength(6);
    expect(runtime.RunPodSandbox.path).toBe('/runtime.v1.RuntimeService/RunPodSandbox');
    expect(runtime.GetContainerEvents.responseStream).toBe(true);
    expect(image.PullImage.path).toBe('/runtime.v1.ImageService/PullImage');
  });

  it('is parsed once', () => {
    expect(loadCri()).toBe(loadCri());
  });

  it('decodes with the generated types in mind: snake_case, longs and enums as strings, defaults', () => {
    const method = loadCri().runtime.v1.RuntimeService.service.ContainerStatus;
    // 2^60 + 1 does not fit a JS number exactly; a string keeps every digit.
    const bytes = method.responseSerialize({
      status: { id: 'c1', state: 'CONTAINER_RUNNING', created_at: '1152921504606846977' },
    });
    const decoded = method.responseDeserialize(bytes);
    expect(decoded.status).toMatchObject({
      id: 'c1',
      state: 'CONTAINER_RUNNING',
      created_at: '1152921504606846977',
      exit_code: 0,
      started_at: '0',
      labels: {},
      mounts: [],
      stop_signal: 'SIGNAL_RUNTIME_DEFAULT',
    });
    expect(decoded.info).toEqual({});
  });
});

describe('loadCri against @grpc/proto-loader', () => {
  // proto-loader (which generates the types) is the reference: the definitions must match its
  // paths, stream flags and names, and (de)serialize byte for byte and field for field alike.
  const reference = protoLoader.loadSync(protoPath, CRI_LOADER_OPTIONS);

  it.each(['RuntimeService', 'ImageService'] as const)('%s has the methods proto-loader defines', (name) => {
    const ours = loadCri().runtime.v1[name].service as unknown as Record<
      string,
      protoLoader.MethodDefinition<object, object>
    >;
    const theirs = reference[`runtime.v1.${name}`] as protoLoader.ServiceDefinition;
    expect(Object.keys(ours)).toEqual(Object.keys(theirs));
    for (const [method, definition] of Object.entries(theirs)) {
      const { path: p, requestStream, responseStream, originalName } = definition;
      expect(ours[method]).toMatchObject({ path: p, requestStream, responseStream, originalName });
    }
  });

  it('(de)serializes a request and a response as proto-loader does', () => {
    const ours = loadCri().runtime.v1.RuntimeService.service;
    const theirs = reference['runtime.v1.RuntimeService'] as protoLoader.ServiceDefinition;
    const request = {
      config: {
        metadata: { name: 'c', attempt: 2 },
        image: { image: 'busybox' },
        envs: [{ key: 'A', value: Buffer.from('b') }],
        linux: { resources: { memory_limit_in_bytes: '1152921504606846977' } },
        labels: { app: 'x' },
      },
    };
    const bytes = ours.CreateContainer.requestSerialize(request);
    expect(Buffer.compare(bytes, theirs.CreateContainer.requestSerialize(request))).toBe(0);
    expect(ours.CreateContainer.requestDeserialize(bytes)).toEqual(
      theirs.CreateContainer.requestDeserialize(bytes),
    );

    const response = {
      status: { id: 'c1', state: 'CONTAINER_EXITED' as const, exit_code: 3, finished_at: '17' },
    };
    const out = ours.ContainerStatus.responseSerialize(response);
    expect(Buffer.compare(out, theirs.ContainerStatus.responseSerialize(response))).toBe(0);
    expect(ours.ContainerStatus.responseDeserialize(out)).toEqual(
      theirs.ContainerStatus.responseDeserialize(out),
    );
  });

  it('refuses to serialize an array, as proto-loader does', () => {
    const method = loadCri().runtime.v1.RuntimeService.service.Version;
    expect(() => method.requestSerialize([] as never)).toThrow(/array/);
  });
});

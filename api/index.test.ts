import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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

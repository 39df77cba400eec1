#!/usr/bin/env node
// The batch benchmark: images per second over a generated tree of thousands of small and
// large images, side by side in one run:
//   - the CLI:           image-introspect --ndjson -r -j P TREE            (one process)
//   - qemu-img:          find TREE -type f | xargs -P P -n 1 qemu-img info --output=json
//                        (one process per image, as Glance runs it, at the same parallelism)
//   - OpenStack:         nova's format_inspector.detect_file_format over every file, in one
//                        long-lived Python process (as bench/openstack.py calls it; start-up
//                        not counted)
// and the CLI's peak RSS. Prints a Markdown report with the ratios. Nothing is asserted.
//
//   npm run build && node bench/batch.mjs                 3,000 images, P = the number of CPUs
//   node bench/batch.mjs --count 10000 --jobs 4 --iterations 3 --openstack-iterations 1
//   node bench/batch.mjs --smoke                          200 images, one iteration
//   node bench/batch.mjs --baseline-cli OTHER/dist/cli.js another build of the CLI (before a
//                        change) measured in the same run, as one more row
//
// The tree is cached under the temp directory between runs (delete it to regenerate).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argument = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const smoke = process.argv.includes('--smoke');
const count = argument('--count', smoke ? 200 : 3000);
const jobs = argument('--jobs', availableParallelism());
const iterations = argument('--iterations', smoke ? 1 : 3);
// OpenStack's inspector reads a raw image to its end: minutes per run over the tree.
const openstackIterations = argument('--openstack-iterations', 1);
const python = '/usr/bin/python3';
const cli = join(root, 'dist', 'cli.js');
const baselineAt = process.argv.indexOf('--baseline-cli');
const baselineCli = baselineAt === -1 ? undefined : process.argv[baselineAt + 1];
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const work = join(tmpdir(), 'image-introspect-batch-bench');
const templates = join(work, 'templates');
const tree = join(work, `tree-${count}`);

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * MiB, ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.error}`);
  return result.stdout;
}

if (!existsSync(cli)) throw new Error('build first: npm run build');

// ---------------------------------------------------------------------------------------
// Templates: one image of each kind, made with qemu-img (and sfdisk, genisoimage when there).

/** A raw file of `size` bytes whose first `dataBytes` are random (incompressible), sparse after that. */
function rawWithData(path, size, dataBytes) {
  run('dd', ['if=/dev/urandom', `of=${path}`, 'bs=64K', `count=${dataBytes / (64 * 1024)}`, 'status=none']);
  run('truncate', ['-s', String(size), path]);
}

function makeTemplates() {
  mkdirSync(templates, { recursive: true });
  const made = [];
  const add = (name, large, create) => {
    const path = join(templates, name);
    if (!existsSync(path)) create(path);
    made.push({ name, path, large });
  };
  const qemu = (...args) => run('qemu-img', args);
  const data = join(templates, 'data.raw');
  if (!existsSync(data)) rawWithData(data, 20 * GiB, 8 * MiB);
  // Small images: what an upload queue mostly holds.
  add('small.qcow2', false, (path) => qemu('create', '-q', '-f', 'qcow2', path, '1G'));
  add('small-v2.qcow2', false, (path) => qemu('create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', path, '1G'));
  add('backing.qcow2', false, (path) => qemu('create', '-q', '-u', '-f', 'qcow2', '-F', 'raw', '-b', 'base.raw', path, '1G'));
  add('stream.vmdk', false, (path) => qemu('create', '-q', '-f', 'vmdk', '-o', 'subformat=streamOptimized', path, '1G'));
  add('sparse.vmdk', false, (path) => qemu('create', '-q', '-f', 'vmdk', path, '1G'));
  add('dynamic.vhd', false, (path) => qemu('create', '-q', '-f', 'vpc', path, '1G'));
  add('dynamic.vhdx', false, (path) => qemu('create', '-q', '-f', 'vhdx', path, '1G'));
  add('dynamic.vdi', false, (path) => qemu('create', '-q', '-f', 'vdi', path, '1G'));
  add('small.raw', false, (path) => rawWithData(path, 4 * MiB, 64 * 1024));
  // Large images: tens of GiB virtual, megabytes of data, sparse where the format allows.
  add('large.qcow2', true, (path) => qemu('convert', '-q', '-O', 'qcow2', data, path));
  add('large-stream.vmdk', true, (path) => qemu('convert', '-q', '-O', 'vmdk', '-o', 'subformat=streamOptimized', data, path));
  add('large-fixed.vhd', true, (path) => qemu('create', '-q', '-f', 'vpc', '-o', 'subformat=fixed', path, '8G'));
  add('large.raw', true, (path) => rawWithData(path, 20 * GiB, 8 * MiB));
  return made;
}

/** Spreads `count` images over folders of 100, one large image in ten; sparse files stay sparse. */
function makeTree(made) {
  if (existsSync(`${tree}.complete`)) return;
  rmSync(tree, { recursive: true, force: true });
  const small = made.filter((template) => !template.large);
  const large = made.filter((template) => template.large);
  for (let index = 0; index < count; index += 1) {
    const folder = join(tree, `d${String(Math.floor(index / 100)).padStart(3, '0')}`);
    if (index % 100 === 0) mkdirSync(folder, { recursive: true });
    const template = index % 10 === 9 ? large[Math.floor(index / 10) % large.length] : small[index % small.length];
    const target = join(folder, `${String(index).padStart(6, '0')}-${template.name}`);
    // cp --sparse=always keeps a 20 GiB raw file at its 8 MiB of data.
    if (template.large) run('cp', ['--sparse=always', template.path, target]);
    else copyFileSync(template.path, target);
  }
  writeFileSync(`${tree}.complete`, '');
}

// ---------------------------------------------------------------------------------------
// Runs

/**
 * A command under /usr/bin/time: wall seconds, CPU seconds (user + system, its children
 * included: every qemu-img that xargs started) and peak RSS. CPU time is the figure that
 * holds on a busy machine, where wall time depends on what else runs.
 */
function timed(command, args) {
  const report = join(work, 'time.txt');
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-o', report, '-f', '%e %U %S %M', command, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (status) => {
      const [wall, user, system, rss] = readFileSync(report, 'utf8').trim().split('\n').pop().split(' ').map(Number);
      resolve({ seconds: wall, cpuSeconds: user + system, maxRssKiB: rss, status, stderr });
    });
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function runCli(mode, program = cli) {
  const result = await timed(process.execPath, [program, mode, '-r', '-j', String(jobs), tree]);
  // 1: some images are unsafe (a backing file), as in any real store.
  if (result.status !== 0 && result.status !== 1) throw new Error(`the CLI failed (${result.status}): ${result.stderr.slice(0, 2000)}`);
  return result;
}

/**
 * The same walk and parallelism spawning /bin/true per image: what process creation alone
 * costs on this machine. qemu-img's throughput, and so every ratio against it, moves with
 * it (two machines of the same kind here gave 2 ms and 0.5 ms per spawn).
 */
function runSpawnOnly() {
  const script = `find "$1" -type f -print0 | xargs -0 -P "$2" -n 1 /bin/true > /dev/null 2>&1; true`;
  return timed('bash', ['-c', script, 'bash', tree, String(jobs)]);
}

function runQemu() {
  const script = `find "$1" -type f -print0 | xargs -0 -P "$2" -n 1 qemu-img info --output=json > /dev/null 2>&1; true`;
  return timed('bash', ['-c', script, 'bash', tree, String(jobs)]);
}

/** nova's inspector in one process: the loop is timed inside, without interpreter start-up. */
const openstackScript = `
import json, logging, os, resource, sys, time
logging.disable(logging.CRITICAL)
from nova.image import format_inspector
paths = []
for folder, _, names in os.walk(sys.argv[1]):
    paths.extend(os.path.join(folder, name) for name in names)
paths.sort()
started = time.perf_counter()
cpu_started = time.process_time()
formats = {}
for path in paths:
    try:
        name = str(format_inspector.detect_file_format(path))
    except Exception as error:
        name = 'error: ' + type(error).__name__
    formats[name] = formats.get(name, 0) + 1
print(json.dumps({'seconds': time.perf_counter() - started, 'cpu_seconds': time.process_time() - cpu_started, 'images': len(paths), 'formats': formats,
                  'max_rss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
`;

function runOpenStack() {
  const result = spawnSync(python, ['-c', openstackScript, tree], { encoding: 'utf8', maxBuffer: 64 * MiB });
  if (result.status !== 0) return { error: (result.stderr || String(result.error)).trim().split('\n').pop() };
  const parsed = JSON.parse(result.stdout);
  return { seconds: parsed.seconds, cpuSeconds: parsed.cpu_seconds, maxRssKiB: parsed.max_rss_kib, formats: parsed.formats };
}

// ---------------------------------------------------------------------------------------

const made = makeTemplates();
makeTree(made);
const files = readdirSync(tree).reduce((total, folder) => total + readdirSync(join(tree, folder)).length, 0);
const apparent = readdirSync(tree)
  .flatMap((folder) => readdirSync(join(tree, folder)).map((name) => statSync(join(tree, folder, name)).size))
  .reduce((total, size) => total + size, 0);

// Warm the page cache once (every tool then reads from memory alike).
await runCli('--ndjson');

const ndjson = [];
const baseline = [];
const text = [];
const qemu = [];
const spawnOnly = [];
const openstack = [];
const hasOpenStack = spawnSync(python, ['-c', 'from nova.image import format_inspector'], { encoding: 'utf8' }).status === 0;
for (let iteration = 0; iteration < iterations; iteration += 1) {
  ndjson.push(await runCli('--ndjson'));
  if (baselineCli !== undefined) baseline.push(await runCli('--ndjson', baselineCli));
  text.push(await runCli('--output=human'));
  qemu.push(await runQemu());
  spawnOnly.push(await runSpawnOnly());
  if (hasOpenStack && iteration < openstackIterations) openstack.push(runOpenStack());
}

const rate = (seconds) => files / seconds;
const cpuPerImage = (samples) => (1000 * median(samples.map((sample) => sample.cpuSeconds))) / files;
const cliSeconds = median(ndjson.map((sample) => sample.seconds));
const textSeconds = median(text.map((sample) => sample.seconds));
const qemuSeconds = median(qemu.map((sample) => sample.seconds));
const spawnSeconds = median(spawnOnly.map((sample) => sample.seconds));
const openstackOk = openstack.filter((sample) => sample.error === undefined);
const openstackSeconds = openstackOk.length > 0 ? median(openstackOk.map((sample) => sample.seconds)) : undefined;
const peakRss = Math.max(...ndjson.map((sample) => sample.maxRssKiB), ...text.map((sample) => sample.maxRssKiB));
const loadAverage = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const row = (name, seconds, samples, rss) =>
  `| ${name} | ${seconds.toFixed(2)} | ${rate(seconds).toFixed(0)} | ${(qemuSeconds / seconds).toFixed(1)}x | ${cpuPerImage(samples).toFixed(2)} | ${(cpuPerImage(qemu) / cpuPerImage(samples)).toFixed(1)}x | ${rss === undefined ? '' : `${(rss / 1024).toFixed(0)} MiB`} |`;

const lines = [
  `# Batch benchmark (${new Date().toISOString().slice(0, 10)})`,
  '',
  `${files} images (${made.filter((template) => !template.large).length} small kinds, ${made.filter((template) => template.large).length} large kinds, one in ten large; ${(apparent / GiB).toFixed(0)} GiB apparent), folders of 100;`,
  `parallelism P = ${jobs}; ${iterations} iteration(s), median; ${cpus()[0]?.model ?? 'unknown CPU'} x ${cpus().length}, ${(totalmem() / GiB).toFixed(1)} GiB, load average ${loadAverage} at the end; Node ${process.version}.`,
  '',
  '| tool | wall s | images/s | vs qemu-img | CPU ms/image | vs qemu-img | peak RSS |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  row(`image-introspect --ndjson -r -j ${jobs}`, cliSeconds, ndjson, peakRss),
  ...(baselineCli === undefined
    ? []
    : [row(`baseline ${baselineCli} --ndjson -r -j ${jobs}`, median(baseline.map((sample) => sample.seconds)), baseline, Math.max(...baseline.map((sample) => sample.maxRssKiB)))]),
  row(`image-introspect (text) -r -j ${jobs}`, textSeconds, text),
  row(`qemu-img info, xargs -P ${jobs}`, qemuSeconds, qemu),
  row(`/bin/true, xargs -P ${jobs} (process creation alone)`, spawnSeconds, spawnOnly),
  openstackSeconds === undefined
    ? `| OpenStack format_inspector | ${hasOpenStack ? openstack[0]?.error : 'not installed (python3-nova)'} | | | | | |`
    : row('OpenStack format_inspector, one process', openstackSeconds, openstackOk, Math.max(...openstackOk.map((sample) => sample.maxRssKiB))),
  '',
  `Ratios: the CLI at ${(qemuSeconds / cliSeconds).toFixed(1)}x qemu-img's throughput at equal parallelism (target 20x)` +
    (openstackSeconds === undefined ? '' : `, ${(openstackSeconds / cliSeconds).toFixed(1)}x OpenStack's (target 5x)`) +
    `; ${(cpuPerImage(qemu) / cpuPerImage(ndjson)).toFixed(1)}x less CPU per image than qemu-img; peak RSS ${(peakRss / 1024).toFixed(0)} MiB (target < 300 MiB).`,
  '',
  `Process creation alone (/bin/true per image at the same parallelism) takes ${((1000 * spawnSeconds) / files).toFixed(2)} ms of wall time per image here, ${((100 * spawnSeconds) / qemuSeconds).toFixed(0)} % of qemu-img's: the ratios against qemu-img move with this machine's cost of starting a process, the CLI's own figures (images/s, CPU ms/image) do not.`,
];
if (openstackOk[0]?.formats) lines.push('', `OpenStack's answers: ${JSON.stringify(openstackOk[0].formats)}`);
console.log(lines.join('\n'));

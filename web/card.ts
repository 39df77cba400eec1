/**
 * A result card: the element that shows one image's report (or why it could not be read),
 * with the test contract on it: `data-testid="result"`, `data-format`,
 * `data-virtual-size`, `data-safe` (and `data-bytes-read`, `data-containers`), and inside,
 * `data-testid="glance-properties"` holding the JSON of `glanceProperties(info)` and
 * `data-testid="result-json"` the whole result as the CLI's `--json` prints it. A file
 * that could not be read gets a card too: `data-safe="false"` and `data-error` (the error
 * code), no format or size.
 *
 * @module
 */
import { defaultImageName, openstackImageCreate } from './command.js';
import { type Child, h } from './dom.js';
import type { CheckReport, DetailRow, FailureReport, ImageReport, LayerReport, OvfReport } from './protocol.js';

/** Where the safety checks are explained (`docs/safety.md`, "The checks"). */
export interface CardOptions {
  /** Base URL of the documentation, ending in `/`. */
  docsBase: string;
}

const byteCount = new Intl.NumberFormat('en');

/** `10,737,418,240 bytes`. */
function bytes(count: number): string {
  return `${byteCount.format(count)} byte${count === 1 ? '' : 's'}`;
}

function fact(term: string, ...description: Child[]): HTMLElement {
  return h('div', {}, h('dt', {}, term), h('dd', {}, ...description));
}

function muted(...children: Child[]): HTMLElement {
  return h('span', { class: 'muted' }, ...children);
}

/** Summary rows as a two-column table, nesting shown by indentation, table lines as preformatted text. */
function detailTable(rows: readonly DetailRow[], caption: string): HTMLElement | undefined {
  if (rows.length === 0) return undefined;
  const body = rows.map((row) => {
    const depthClass = `depth-${Math.min(row.depth, 4)}`;
    if (row.kind === 'line') return h('tr', {}, h('td', { colspan: 2, class: depthClass }, h('pre', {}, row.value)));
    if (row.kind === 'heading') return h('tr', {}, h('th', { scope: 'rowgroup', colspan: 2, class: depthClass }, row.label));
    return h('tr', {}, h('th', { scope: 'row', class: depthClass }, row.label), h('td', {}, row.value));
  });
  return h('table', { class: 'details' }, h('caption', {}, caption), h('tbody', {}, ...body));
}

function checkItem(check: CheckReport, options: CardOptions): HTMLElement {
  return h(
    'li',
    {},
    h('a', { href: `${options.docsBase}safety.md#the-checks`, class: 'check-name' }, check.name),
    ': ',
    check.description,
    '.',
    check.reason === '' ? undefined : h('span', { class: 'found' }, ' Found: ', check.reason),
  );
}

function safetySection(report: ImageReport, options: CardOptions): HTMLElement {
  const failed = report.failedChecks;
  const verdict =
    failed.length === 0
      ? h('p', {}, `All ${report.checkCount} safety check${report.checkCount === 1 ? '' : 's'} passed.`)
      : h('p', {}, `${failed.length} of ${report.checkCount} safety checks failed: an image service should refuse this image.`);
  return h(
    'section',
    { class: 'safety' },
    h('h4', {}, 'Safety'),
    verdict,
    failed.length === 0 ? undefined : h('ul', { class: 'checks failed' }, ...failed.map((check) => checkItem(check, options))),
    report.waivedChecks.length === 0 ? undefined : h('p', {}, 'Waived:'),
    report.waivedChecks.length === 0 ? undefined : h('ul', { class: 'checks' }, ...report.waivedChecks.map((check) => checkItem(check, options))),
    report.warnings.length === 0 ? undefined : h('h5', {}, 'Warnings'),
    report.warnings.length === 0 ? undefined : h('ul', { class: 'warnings' }, ...report.warnings.map((warning) => h('li', {}, warning))),
  );
}

function ovfSection(ovf: OvfReport): HTMLElement {
  const disks = ovf.disks.map((disk) =>
    h('li', {}, disk.file ?? disk.id, disk.capacity === undefined ? undefined : `, ${disk.capacity}`, disk.format === undefined ? undefined : muted(` (${disk.format})`)),
  );
  return h(
    'section',
    { class: 'ovf' },
    h('h4', {}, 'OVF descriptor'),
    h(
      'dl',
      { class: 'facts' },
      ovf.name === undefined ? undefined : fact('Name', ovf.name),
      ovf.operatingSystem === undefined ? undefined : fact('Operating system', ovf.operatingSystem),
      ovf.cpus === undefined ? undefined : fact('CPUs', ovf.cpus),
      ovf.memory === undefined ? undefined : fact('Memory', ovf.memory),
      ovf.firmware === undefined ? undefined : fact('Firmware', ovf.firmware),
      fact(`Disk${ovf.disks.length === 1 ? '' : 's'}`, disks.length === 0 ? 'none' : h('ul', { class: 'plain' }, ...disks)),
    ),
  );
}

/** `QEMU Copy-On-Write version 2 (qcow2)` → `QEMU Copy-On-Write version 2` next to the name `qcow2`. */
function titleWithoutName(title: string, format: string): string {
  return title.replace(/ \(([^)]*)\)$/, (whole, name: string) => (name.toLowerCase() === format ? '' : whole));
}

/**
 * The layers from the disk outwards, as a person says it: `xz`, `ova (member disk1.vmdk)`,
 * `tar (member disk.img), in gzip`. `info.containers` lists them outermost first.
 */
export function layerWords(layers: readonly LayerReport[]): string | undefined {
  if (layers.length === 0) return undefined;
  return [...layers]
    .reverse()
    .map((layer) => `${layer.format}${layer.member === undefined ? '' : ` (member ${layer.member})`}`)
    .join(', in ');
}

function glanceSection(report: ImageReport, id: number): HTMLElement {
  const properties = report.glanceProperties;
  const imageName = defaultImageName(report.fileName);
  const uploadable = properties.disk_format !== undefined;
  const commandId = `command-${id}`;
  const nameId = `image-name-${id}`;
  const allowId = `allow-unsafe-${id}`;
  const statusId = `upload-status-${id}`;
  return h(
    'section',
    { class: 'glance' },
    h('h4', {}, 'Glance'),
    h('p', { class: 'muted' }, 'Properties to create the image with (only what the bytes prove):'),
    h('pre', { 'data-testid': 'glance-properties', class: 'json' }, JSON.stringify(properties, null, 2)),
    uploadable
      ? h(
          'div',
          { class: 'command' },
          h('pre', {}, h('code', { id: commandId }, openstackImageCreate(properties, report.fileName, imageName))),
          h('button', { type: 'button', 'data-action': 'copy', 'aria-describedby': commandId }, 'Copy command'),
        )
      : h('p', {}, `Glance has no disk_format for ${report.format} images: it cannot take this file as it is.`),
    uploadable
      ? h(
          'div',
          { class: 'upload' },
          h('label', { for: nameId }, 'Image name'),
          h('input', { id: nameId, name: 'image-name', type: 'text', value: imageName, autocomplete: 'off', spellcheck: 'false' }),
          report.safe
            ? undefined
            : h('p', { class: 'override' }, h('input', { id: allowId, name: 'allow-unsafe', type: 'checkbox' }), ' ', h('label', { for: allowId }, 'Upload anyway, despite the failed checks')),
          h(
            'p',
            { class: 'actions' },
            h('button', { type: 'button', 'data-action': 'upload', 'aria-describedby': statusId }, 'Upload to Glance'),
            ' ',
            h('button', { type: 'button', 'data-action': 'cancel-upload', hidden: true }, 'Cancel upload'),
          ),
          h('progress', { max: report.fileSize, value: 0, hidden: true, 'aria-label': `Upload of ${report.fileName}` }),
          h('p', { id: statusId, class: 'upload-status' }),
        )
      : undefined,
  );
}

/** The card for an image that was read. */
export function reportCard(report: ImageReport, id: number, options: CardOptions): HTMLElement {
  const titleId = `card-${id}-title`;
  const layers = layerWords(report.layers);
  const details = h(
    'details',
    { class: 'details-section', open: true },
    h('summary', {}, h('h4', {}, 'Details')),
    detailTable(report.details, report.formatTitle) ?? h('p', { class: 'muted' }, 'Nothing more than the size.'),
    // From the disk outwards, as the Inside line reads.
    ...[...report.layers].reverse().map((layer) => detailTable(layer.rows, `${layer.title}${layer.member === undefined ? '' : ` (member ${layer.member})`}`)),
  );
  const json = h(
    'details',
    { class: 'details-section' },
    h('summary', {}, h('h4', {}, 'Result as JSON')),
    h('p', { class: 'muted' }, 'What ', h('code', {}, 'image-introspect --json'), ' prints for this file.'),
    h('pre', { 'data-testid': 'result-json', class: 'json result-json', tabindex: 0, 'aria-label': `Result of ${report.fileName} as JSON` }, report.resultJson),
  );
  return h(
    'article',
    {
      class: `card ${report.safe ? 'is-safe' : 'is-unsafe'}`,
      'data-testid': 'result',
      'data-format': report.format,
      'data-virtual-size': report.virtualSize,
      'data-safe': String(report.safe),
      'data-bytes-read': report.bytesRead,
      // The layers around the disk, outermost first (`xz`, `ova`); absent for a bare image.
      'data-containers': report.layers.length === 0 ? undefined : report.layers.map((layer) => layer.format).join(' '),
      'data-card': id,
      'aria-labelledby': titleId,
    },
    h(
      'header',
      { class: 'card-head' },
      h('h3', { id: titleId, class: 'file-name' }, report.fileName),
      h('p', { class: `verdict ${report.safe ? 'safe' : 'unsafe'}` }, report.safe ? 'Safe' : `Unsafe: ${report.failedChecks.map((check) => check.name).join(', ')}`),
      h('button', { type: 'button', class: 'remove', 'data-action': 'remove', 'aria-label': `Remove ${report.fileName}` }, '×'),
    ),
    h(
      'div',
      { class: 'card-column' },
      h(
        'dl',
        { class: 'facts' },
        fact('Format', h('strong', {}, report.format), ' ', muted(titleWithoutName(report.formatTitle, report.format))),
        layers === undefined ? undefined : fact('Inside', layers),
        fact('Virtual size', h('strong', {}, report.virtualSizeText), ' ', muted(`(${bytes(report.virtualSize)})`)),
        report.disks === undefined ? undefined : fact('Disks', report.disks.map((disk) => `${disk.format} ${disk.virtualSizeText}${disk.safe ? '' : ' (unsafe)'}`).join(', ')),
        report.alsoMatches.length === 0 ? undefined : fact('Also matches', report.alsoMatches.join(', ')),
        fact('Read', report.readText),
      ),
      safetySection(report, options),
      report.ovf === undefined ? undefined : ovfSection(report.ovf),
      details,
      json,
    ),
    h('div', { class: 'card-column' }, glanceSection(report, id)),
  );
}

/** The card for a file that could not be read: what happened, in plain words, then the library's message. */
export function failureCard(failure: FailureReport, id: number): HTMLElement {
  const titleId = `card-${id}-title`;
  return h(
    'article',
    { class: 'card is-error', 'data-testid': 'result', 'data-safe': 'false', 'data-error': failure.code, 'data-card': id, 'aria-labelledby': titleId },
    h(
      'header',
      { class: 'card-head' },
      h('h3', { id: titleId, class: 'file-name' }, failure.fileName),
      h('p', { class: 'verdict error' }, failure.code === 'ABORTED' ? 'Cancelled' : 'Could not be read'),
      h('button', { type: 'button', class: 'remove', 'data-action': 'remove', 'aria-label': `Remove ${failure.fileName}` }, '×'),
    ),
    h('p', { class: 'error-summary' }, failure.summary),
    failure.code === 'ABORTED' ? undefined : h('p', { class: 'muted' }, `${failure.code}: `, h('code', { class: 'error-message' }, failure.message)),
    h('p', { class: 'muted' }, `The file has ${bytes(failure.fileSize)}.`),
  );
}

/** The placeholder shown while a file is read. */
export function pendingCard(file: { name: string; size: number }, id: number): HTMLElement {
  const titleId = `card-${id}-title`;
  return h(
    'article',
    { class: 'card is-pending', 'data-testid': 'pending', 'data-card': id, 'aria-busy': 'true', 'aria-labelledby': titleId },
    h('header', { class: 'card-head' }, h('h3', { id: titleId, class: 'file-name' }, file.name), h('p', { class: 'verdict' }, 'Checking…')),
    h('p', {}, h('button', { type: 'button', 'data-action': 'cancel' }, 'Cancel')),
  );
}

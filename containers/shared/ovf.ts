/**
 * OVF descriptors (DMTF DSP0243 1.x and 2.x, and VirtualBox's OVF 0.9 output): what the
 * appliance says about its machine, its disks and its files, as JSON-safe data, and the
 * facts a safety check needs (a DOCTYPE, file references that leave the package, files
 * that are missing).
 *
 * What is read, by section (elements in the OVF envelope namespace; attributes in it or
 * unprefixed; RASD item properties by local name, since VirtualBox's OVF 2.0 output puts
 * them in `sasd:`/`epasd:` namespaces whose URIs end in `.xsd`):
 *
 * | section | fields |
 * | --- | --- |
 * | `References/File` | `ovf:id`, `ovf:href`, `ovf:size`, `ovf:compression` (`gzip`), `ovf:chunkSize` |
 * | `DiskSection/Disk` | `ovf:diskId`, `ovf:fileRef`, `ovf:capacity` × `ovf:capacityAllocationUnits` (default byte), `ovf:populatedSize`, `ovf:format` |
 * | `NetworkSection/Network` | `ovf:name`, `Description` |
 * | `DeploymentOptionSection/Configuration` | `ovf:id`, `ovf:default`: items marked `ovf:configuration` count only for the default configuration |
 * | `VirtualSystem` | `ovf:id`, `Name` |
 * | `OperatingSystemSection` | `ovf:id` (CIM OS type), `ovf:version`, `Description`, `vmw:osType` (VMware), `vbox:OSType` (VirtualBox) |
 * | `ProductSection` | `Product`, `Vendor`, `Version`, `FullVersion`, `ProductUrl`, `VendorUrl` |
 * | `EulaSection`, `AnnotationSection` | presence; the annotation text |
 * | `VirtualHardwareSection/System` | `vssd:VirtualSystemType` (`vmx-19`, `virtualbox-2.2`) |
 * | `Item`, `StorageItem`, `EthernetPortItem` | `ResourceType` 3 CPUs (`VirtualQuantity`, `vmw:CoresPerSocket`), 4 memory (× `AllocationUnits`), 5/6/20 controllers, 14/15/16/17/19/31 drives (`HostResource` `ovf:/disk/<id>`, `/disk/<id>`, `ovf:/file/<id>`; `Parent`; `AddressOnParent`), 10 network adapters |
 * | firmware | VMware `vmw:Config vmw:key="firmware"`; VirtualBox `vbox:Machine/Hardware/Firmware/@type`; XenServer `VirtualSystemOtherConfigurationData Name="HVM_boot_params"` `firmware=uefi` |
 * | anywhere | elements in the `CIM_ProcessorAllocationSettingData` namespace, as Glance's `ovf_process` stores them: `cim_pasd_<Tag>` = text, the last one winning |
 *
 * OVF 2.x defines no firmware field (its `BootDeviceSection` orders boot devices); the
 * exporters that record firmware do it in their own namespaces, as above. Nothing is
 * guessed where a descriptor says nothing: VirtualBox omits `Firmware` for BIOS and
 * ovftool omits `firmware` for BIOS, so `firmware` is absent there.
 *
 * @module
 */
import { fieldError } from '../../src/errors.js';
import { quantityInBytes } from './ovf-units.js';
import { type XmlElement, attributeValue, childNamed, childrenNamed, decodeXmlBytes, readXmlTree } from './xml-tree.js';

/**
 * The largest descriptor read: 4 MiB. The biggest real ones (vSphere exports with hundreds
 * of `vmw:ExtraConfig` entries) are around 100 KiB.
 */
export const OVF_MAX_DESCRIPTOR_BYTES = 4 * 1024 * 1024;

/** The OVF envelope namespaces: 1.x, 2.x, VMware's OVF 0.9, and none (hand-written descriptors). */
export const OVF_NAMESPACES: ReadonlySet<string> = new Set([
  'http://schemas.dmtf.org/ovf/envelope/1',
  'http://schemas.dmtf.org/ovf/envelope/2',
  'http://www.vmware.com/schema/ovf/1/envelope',
  '',
]);
const VMW_NS = 'http://www.vmware.com/schema/ovf';
const VBOX_NS = 'http://www.virtualbox.org/ovf/machine';
const XENOVF_NS = 'http://schemas.citrix.com/ovf/envelope/1';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
/** The namespace Glance's `ovf_process` takes `cim_pasd_*` properties from (exactly this URI). */
export const CIM_PASD_NAMESPACE = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ProcessorAllocationSettingData';
const VMW: ReadonlySet<string> = new Set([VMW_NS]);
const VBOX: ReadonlySet<string> = new Set([VBOX_NS]);
const XSI: ReadonlySet<string> = new Set([XSI_NS]);

/** Prefixes some descriptors use without declaring them, with the URIs their exporters mean. */
const CONVENTIONAL_PREFIXES: Readonly<Record<string, string>> = {
  ovf: 'http://schemas.dmtf.org/ovf/envelope/1',
  rasd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData',
  vssd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData',
  sasd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_StorageAllocationSettingData',
  epasd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_EthernetPortAllocationSettingData',
  cim: 'http://schemas.dmtf.org/wbem/wscim/1/common',
  vmw: VMW_NS,
  vbox: VBOX_NS,
  xsi: XSI_NS,
};

/** A `References/File`. */
export interface OvfFile {
  id: string;
  href: string;
  size?: number;
  /** `gzip` when the file is compressed (DSP0243 5.3), as written. */
  compression?: string;
  /** When set, the file is split into `href.000000000`, `href.000000001`... of this many bytes. */
  chunkSize?: number;
}

/** Where a disk is attached: the drive item, its controller and its address there. */
export interface OvfAttachment {
  /** The drive item's `InstanceID`. */
  driveId: string;
  drive: OvfDriveKind;
  controllerId?: string;
  controllerKind?: OvfControllerKind;
  controllerSubType?: string;
  addressOnParent?: string;
}

/** A `DiskSection/Disk`, with its file and attachment resolved. */
export interface OvfDisk {
  diskId: string;
  fileRef?: string;
  /** The referenced file's `href`. */
  href?: string;
  capacityBytes?: number;
  /** `ovf:capacity` as written (it may be an OVF property reference such as `${disk.size}`). */
  capacity?: string;
  capacityAllocationUnits?: string;
  populatedSizeBytes?: number;
  /** `ovf:format`, a URI such as `http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized`. */
  format?: string;
  /** The referenced file's size and compression. */
  fileSize?: number;
  compression?: string;
  attachment?: OvfAttachment;
}

/** What a controller is, from `ResourceType` and `ResourceSubType`. */
export type OvfControllerKind = 'ide' | 'scsi' | 'sata' | 'nvme' | 'usb' | 'other';
/** What a drive is, from `ResourceType`: 17 (and 19, 31) disk, 15/16 CD/DVD, 14 floppy. */
export type OvfDriveKind = 'disk' | 'cdrom' | 'floppy';

/** A storage controller item. */
export interface OvfController {
  instanceId: string;
  kind: OvfControllerKind;
  resourceType: number;
  subType?: string;
  name?: string;
  address?: string;
}

/** A drive item (disk, CD/DVD, floppy) and what it holds. */
export interface OvfDrive {
  instanceId: string;
  kind: OvfDriveKind;
  /** `HostResource` as written. */
  hostResource?: string;
  /** The disk or file it names. */
  diskId?: string;
  fileId?: string;
  parent?: string;
  addressOnParent?: string;
}

/** A network adapter item. */
export interface OvfNetworkAdapter {
  instanceId: string;
  /** The logical network it connects to (`Connection`). */
  network?: string;
  /** The adapter model (`ResourceSubType`: `E1000`, `VmxNet3`, `PCNet32`...). */
  subType?: string;
  name?: string;
}

/** `ProductSection`. */
export interface OvfProduct {
  product?: string;
  vendor?: string;
  version?: string;
  fullVersion?: string;
  productUrl?: string;
  vendorUrl?: string;
}

/** The appliance, as its descriptor describes it. */
export interface OvfInfo {
  /** `ovf:version` on the envelope, else the namespace's major version (`'1'`, `'2'`, `'0.9'`). */
  ovfVersion?: string;
  /** The first comment before the root (ovftool writes "Generated by VMware ovftool ..."). */
  generator?: string;
  /** The machine's name: `Name`, else VirtualBox's `vbox:Machine/@name`, else the virtual system's `ovf:id`. */
  name?: string;
  virtualSystemId?: string;
  /** How many `VirtualSystem`s the descriptor holds; the fields here describe the first. */
  virtualSystemCount: number;
  operatingSystem?: { id: number; description?: string; osType?: string; version?: string };
  cpus?: number;
  coresPerSocket?: number;
  memoryBytes?: number;
  firmware?: 'bios' | 'efi';
  /** Who recorded the firmware: `vmware`, `virtualbox`, `xenserver`. */
  firmwareSource?: 'vmware' | 'virtualbox' | 'xenserver';
  /** VMware's `bootOptions.efiSecureBootEnabled` / `uefi.secureBoot.enabled`. */
  secureBoot?: boolean;
  /** `vssd:VirtualSystemType` as written, e.g. `vmx-19`, `virtualbox-2.2`, `vmx-07 vmx-08`. */
  hardwareFamily?: string;
  disks: OvfDisk[];
  files: OvfFile[];
  networks: Array<{ name: string; description?: string }>;
  networkAdapters: OvfNetworkAdapter[];
  controllers: OvfController[];
  drives: OvfDrive[];
  product?: OvfProduct;
  annotation?: string;
  /** True when a `EulaSection` is present (importers must show it). */
  eula: boolean;
  /** Deployment configurations (`DeploymentOptionSection`), and the one whose items were read. */
  configurations: string[];
  defaultConfiguration?: string;
  /** Glance's `cim_pasd_<Tag>` properties: `CIM_ProcessorAllocationSettingData` elements' text. */
  cimPasd: Record<string, string>;
  /** Things read but not understood (unknown units, a dangling reference...). */
  warnings: string[];
}

/** Why an `href` is not a plain relative member name. */
export type OvfHrefProblem = 'url' | 'absolute' | 'parent' | 'empty';

/** Facts for the safety checks; present whether or not the descriptor was parsed. */
export interface OvfHazards {
  /** The descriptor has a document type declaration: nothing after it was read. */
  doctype: boolean;
  /** The DOCTYPE declares entities (`<!ENTITY`): the billion-laughs and external-entity attacks need them. */
  entityDeclarations: boolean;
  /** The DOCTYPE names an external DTD or entity (`SYSTEM`, `PUBLIC`). */
  externalReferences: boolean;
  /** `References/File` hrefs that are URLs, absolute paths or climb with `..`. */
  unsafeHrefs: Array<{ fileId: string; href: string; problems: OvfHrefProblem[] }>;
  /** Hrefs of plain relative files that the caller's file list does not hold (only when one was given). */
  missingFiles: string[];
  /** Prefixes used without a namespace declaration (`ovf`, `rasd`, `vmw`... are then read with their usual URIs; others stay unbound). */
  undeclaredPrefixes: string[];
}

/** The result of {@link parseOvfDescriptor}. */
export interface OvfParseResult {
  /** Absent when the descriptor was refused (a DOCTYPE). */
  ovf?: OvfInfo;
  hazards: OvfHazards;
}

/** Options for {@link parseOvfDescriptor}. */
export interface OvfParseOptions {
  /**
   * The files that are present beside the descriptor (an OVA's member names, `./` prefixes
   * ignored). When given, references to files not in it are listed in
   * `hazards.missingFiles`.
   */
  availableFiles?: Iterable<string>;
}

/**
 * Parses an OVF descriptor. Larger than {@link OVF_MAX_DESCRIPTOR_BYTES} is
 * `LIMIT_EXCEEDED`; not well-formed XML or a root other than `Envelope` is `CORRUPT`. A
 * descriptor with a DOCTYPE is not read past it: the result has no `ovf` and says why in
 * `hazards`.
 */
export function parseOvfDescriptor(bytes: Uint8Array, options: OvfParseOptions = {}): OvfParseResult {
  const field = 'ovf descriptor';
  if (bytes.byteLength > OVF_MAX_DESCRIPTOR_BYTES) {
    throw fieldError('LIMIT_EXCEEDED', field, `${bytes.byteLength} bytes is above the ${OVF_MAX_DESCRIPTOR_BYTES}-byte cap`);
  }
  const hazards: OvfHazards = {
    doctype: false,
    entityDeclarations: false,
    externalReferences: false,
    unsafeHrefs: [],
    missingFiles: [],
    undeclaredPrefixes: [],
  };
  const read = readXmlTree(decodeXmlBytes(bytes, field), { field, knownPrefixes: CONVENTIONAL_PREFIXES });
  if (read.kind === 'doctype') {
    hazards.doctype = true;
    hazards.entityDeclarations = /<!ENTITY/i.test(read.doctype);
    hazards.externalReferences = /\b(SYSTEM|PUBLIC)\b/.test(read.doctype);
    return { hazards };
  }
  hazards.undeclaredPrefixes = read.undeclaredPrefixes;
  const envelope = read.root;
  if (envelope.name !== 'Envelope' || !OVF_NAMESPACES.has(envelope.namespace)) {
    throw fieldError('CORRUPT', field, `the root element is {${envelope.namespace}}${envelope.name}, not an OVF Envelope`);
  }
  const ovf = interpret(envelope, read.prologComments);
  hazards.unsafeHrefs = unsafeHrefs(ovf.files);
  if (options.availableFiles !== undefined) hazards.missingFiles = missingFiles(ovf.files, options.availableFiles, hazards.unsafeHrefs);
  return { ovf, hazards };
}

/** Sets `target[key]` only when `value` is defined (results carry no `undefined` members). */
function put<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

/** Section elements: by name, or OVF 0.9's `<Section xsi:type="ovf:NameSection_Type">`. */
function sections(parent: XmlElement, name: string): XmlElement[] {
  return parent.children.filter((child) => {
    if (!OVF_NAMESPACES.has(child.namespace)) return false;
    if (child.name === name) return true;
    if (child.name !== 'Section' && child.name !== 'Content') return false;
    const type = attributeValue(child, 'type', XSI);
    return type !== undefined && type.replace(/^[^:]*:/, '') === `${name}_Type`;
  });
}

function ovfAttribute(element: XmlElement, name: string): string | undefined {
  return attributeValue(element, name, OVF_NAMESPACES);
}

function childText(element: XmlElement, name: string): string | undefined {
  const child = childNamed(element, name, OVF_NAMESPACES);
  return child === undefined ? undefined : child.text.trim();
}

/** An RASD/SASD/EPASD item property by local name (their namespaces vary between exporters). */
function itemProperty(item: XmlElement, name: string): string | undefined {
  const child = item.children.find((element) => element.name === name && element.namespace !== VMW_NS && element.namespace !== VBOX_NS);
  return child === undefined ? undefined : child.text.trim();
}

function integer(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,15}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

function interpret(envelope: XmlElement, prologComments: string[]): OvfInfo {
  const warnings: string[] = [];
  const info: OvfInfo = {
    virtualSystemCount: 0,
    disks: [],
    files: [],
    networks: [],
    networkAdapters: [],
    controllers: [],
    drives: [],
    eula: false,
    configurations: [],
    cimPasd: {},
    warnings,
  };
  put(info, 'ovfVersion', ovfAttribute(envelope, 'version') ?? namespaceVersion(envelope.namespace));
  put(info, 'generator', prologComments[0]);

  for (const references of sections(envelope, 'References')) {
    for (const file of childrenNamed(references, 'File', OVF_NAMESPACES)) info.files.push(readFile(file, warnings));
  }
  const filesById = new Map(info.files.map((file) => [file.id, file]));
  for (const diskSection of sections(envelope, 'DiskSection')) {
    for (const disk of childrenNamed(diskSection, 'Disk', OVF_NAMESPACES)) info.disks.push(readDisk(disk, filesById, warnings));
  }
  for (const networkSection of sections(envelope, 'NetworkSection')) {
    for (const network of childrenNamed(networkSection, 'Network', OVF_NAMESPACES)) {
      const name = ovfAttribute(network, 'name');
      if (name === undefined) continue;
      const entry: { name: string; description?: string } = { name };
      put(entry, 'description', childText(network, 'Description'));
      info.networks.push(entry);
    }
  }
  for (const options of sections(envelope, 'DeploymentOptionSection')) {
    for (const configuration of childrenNamed(options, 'Configuration', OVF_NAMESPACES)) {
      const id = ovfAttribute(configuration, 'id');
      if (id === undefined) continue;
      info.configurations.push(id);
      if (ovfAttribute(configuration, 'default') === 'true' && info.defaultConfiguration === undefined) info.defaultConfiguration = id;
    }
  }
  if (info.defaultConfiguration === undefined && info.configurations.length > 0) info.defaultConfiguration = info.configurations[0];

  const systems = virtualSystems(envelope);
  info.virtualSystemCount = systems.length;
  const system = systems[0];
  if (system !== undefined) readVirtualSystem(system, info, warnings);
  // A collection's EULA (DSP0243 9.5) sits beside its systems.
  if (sections(envelope, 'EulaSection').length > 0 || envelope.children.some((child) => child.name === 'VirtualSystemCollection' && sections(child, 'EulaSection').length > 0)) info.eula = true;
  collectCimPasd(envelope, info.cimPasd);
  attachDisks(info, warnings);
  return info;
}

function namespaceVersion(namespace: string): string | undefined {
  if (namespace.endsWith('/envelope/1')) return '1';
  if (namespace.endsWith('/envelope/2')) return '2';
  if (namespace === 'http://www.vmware.com/schema/ovf/1/envelope') return '0.9';
  return undefined;
}

/** `VirtualSystem`s at the top level and inside (nested) `VirtualSystemCollection`s, in document order. */
function virtualSystems(parent: XmlElement): XmlElement[] {
  const found: XmlElement[] = [];
  for (const child of parent.children) {
    if (!OVF_NAMESPACES.has(child.namespace)) continue;
    const type = child.name === 'Content' ? attributeValue(child, 'type', XSI)?.replace(/^[^:]*:/, '') : undefined;
    if (child.name === 'VirtualSystem' || type === 'VirtualSystem_Type') found.push(child);
    else if (child.name === 'VirtualSystemCollection' || type === 'VirtualSystemCollection_Type') found.push(...virtualSystems(child));
  }
  return found;
}

function readFile(file: XmlElement, warnings: string[]): OvfFile {
  const entry: OvfFile = { id: ovfAttribute(file, 'id') ?? '', href: ovfAttribute(file, 'href') ?? '' };
  const size = ovfAttribute(file, 'size');
  if (size !== undefined) {
    const bytes = quantityInBytes(size, undefined);
    if ('bytes' in bytes) entry.size = bytes.bytes;
    else warnings.push(`File ${entry.id}: ovf:size "${size.slice(0, 40)}" is not a byte count`);
  }
  put(entry, 'compression', ovfAttribute(file, 'compression'));
  const chunkSize = ovfAttribute(file, 'chunkSize');
  if (chunkSize !== undefined) {
    const bytes = quantityInBytes(chunkSize, undefined);
    if ('bytes' in bytes && bytes.bytes > 0) entry.chunkSize = bytes.bytes;
    else warnings.push(`File ${entry.id}: ovf:chunkSize "${chunkSize.slice(0, 40)}" is not a byte count`);
  }
  return entry;
}

function readDisk(disk: XmlElement, filesById: Map<string, OvfFile>, warnings: string[]): OvfDisk {
  const entry: OvfDisk = { diskId: ovfAttribute(disk, 'diskId') ?? '' };
  const fileRef = ovfAttribute(disk, 'fileRef');
  if (fileRef !== undefined) {
    entry.fileRef = fileRef;
    const file = filesById.get(fileRef);
    if (file === undefined) {
      warnings.push(`Disk ${entry.diskId}: ovf:fileRef "${fileRef}" names no File in References`);
    } else {
      entry.href = file.href;
      put(entry, 'fileSize', file.size);
      put(entry, 'compression', file.compression);
    }
  }
  const capacity = ovfAttribute(disk, 'capacity');
  const units = ovfAttribute(disk, 'capacityAllocationUnits');
  put(entry, 'capacity', capacity);
  put(entry, 'capacityAllocationUnits', units);
  if (capacity !== undefined) {
    const bytes = quantityInBytes(capacity, units);
    if ('bytes' in bytes) entry.capacityBytes = bytes.bytes;
    else warnings.push(`Disk ${entry.diskId}: capacity "${capacity.slice(0, 40)}" in units "${(units ?? 'byte').slice(0, 40)}" is not a byte count (${bytes.problem})`);
  }
  const populated = ovfAttribute(disk, 'populatedSize');
  if (populated !== undefined) {
    // DSP0243: populatedSize is in bytes (units apply to capacity only).
    const bytes = quantityInBytes(populated, undefined);
    if ('bytes' in bytes) entry.populatedSizeBytes = bytes.bytes;
    else warnings.push(`Disk ${entry.diskId}: populatedSize "${populated.slice(0, 40)}" is not a byte count`);
  }
  put(entry, 'format', ovfAttribute(disk, 'format'));
  return entry;
}

function readVirtualSystem(system: XmlElement, info: OvfInfo, warnings: string[]): void {
  const vboxMachine = childNamed(system, 'Machine', VBOX);
  put(info, 'virtualSystemId', ovfAttribute(system, 'id'));
  put(info, 'name', childText(system, 'Name') || vboxMachine?.attributes.find((attribute) => attribute.name === 'name' && attribute.namespace === '')?.value || info.virtualSystemId);

  const osSection = sections(system, 'OperatingSystemSection')[0];
  if (osSection !== undefined) {
    const id = integer(ovfAttribute(osSection, 'id'));
    if (id === undefined) {
      warnings.push(`OperatingSystemSection: ovf:id "${(ovfAttribute(osSection, 'id') ?? '').slice(0, 20)}" is not a CIM OS number`);
    } else {
      const os: NonNullable<OvfInfo['operatingSystem']> = { id };
      put(os, 'description', childText(osSection, 'Description') || undefined);
      const vboxOsType = childNamed(osSection, 'OSType', VBOX)?.text.trim();
      const vboxMachineOsType = vboxMachine?.attributes.find((attribute) => attribute.name === 'OSType' && attribute.namespace === '')?.value;
      put(os, 'osType', attributeValue(osSection, 'osType', VMW) ?? (vboxOsType || undefined) ?? vboxMachineOsType);
      put(os, 'version', ovfAttribute(osSection, 'version'));
      info.operatingSystem = os;
    }
  }

  const product = sections(system, 'ProductSection')[0];
  if (product !== undefined) {
    const entry: OvfProduct = {};
    put(entry, 'product', childText(product, 'Product'));
    put(entry, 'vendor', childText(product, 'Vendor'));
    put(entry, 'version', childText(product, 'Version'));
    put(entry, 'fullVersion', childText(product, 'FullVersion'));
    put(entry, 'productUrl', childText(product, 'ProductUrl'));
    put(entry, 'vendorUrl', childText(product, 'VendorUrl'));
    info.product = entry;
  }
  if (sections(system, 'EulaSection').length > 0) info.eula = true;
  const annotation = sections(system, 'AnnotationSection')[0];
  if (annotation !== undefined) put(info, 'annotation', childText(annotation, 'Annotation'));

  const firmwareFound: Array<{ firmware: 'bios' | 'efi'; source: 'vmware' | 'virtualbox' | 'xenserver' }> = [];
  for (const hardware of sections(system, 'VirtualHardwareSection')) readHardware(hardware, info, firmwareFound, warnings);
  const vboxFirmware = vboxMachine === undefined ? undefined : virtualBoxFirmware(vboxMachine);
  if (vboxFirmware !== undefined) firmwareFound.push({ firmware: vboxFirmware, source: 'virtualbox' });
  chooseFirmware(info, firmwareFound, warnings);
}

/** The items of a hardware section that apply to the default configuration, in order. */
function applicableItems(hardware: XmlElement, defaultConfiguration: string | undefined): XmlElement[] {
  return hardware.children.filter((child) => {
    if (!OVF_NAMESPACES.has(child.namespace)) return false;
    if (child.name !== 'Item' && child.name !== 'StorageItem' && child.name !== 'EthernetPortItem') return false;
    const configurations = ovfAttribute(child, 'configuration');
    if (configurations === undefined) return true;
    return defaultConfiguration !== undefined && configurations.split(/\s+/).includes(defaultConfiguration);
  });
}

const CONTROLLER_TYPES: Readonly<Record<number, OvfControllerKind>> = { 5: 'ide', 6: 'scsi', 20: 'other', 23: 'usb' };
/** CIM ResourceType: 17 disk drive; 19 storage extent and 31 logical disk (XenCenter writes 19 for its disks); 15/16 CD/DVD; 14 floppy. */
const DRIVE_TYPES: Readonly<Record<number, OvfDriveKind>> = { 14: 'floppy', 15: 'cdrom', 16: 'cdrom', 17: 'disk', 19: 'disk', 31: 'disk' };

function controllerKind(resourceType: number, subType: string | undefined): OvfControllerKind {
  const base = CONTROLLER_TYPES[resourceType] ?? 'other';
  if (resourceType !== 20) return base;
  // ResourceType 20 ("other storage device"): VMware and VirtualBox say which in the subtype.
  const lower = (subType ?? '').toLowerCase();
  if (lower.includes('ahci') || lower.includes('sata')) return 'sata';
  if (lower.includes('nvme')) return 'nvme';
  return 'other';
}

function readHardware(
  hardware: XmlElement,
  info: OvfInfo,
  firmwareFound: Array<{ firmware: 'bios' | 'efi'; source: 'vmware' | 'virtualbox' | 'xenserver' }>,
  warnings: string[],
): void {
  const system = childNamed(hardware, 'System', OVF_NAMESPACES);
  if (system !== undefined && info.hardwareFamily === undefined) put(info, 'hardwareFamily', itemProperty(system, 'VirtualSystemType') || undefined);
  // A configuration-specific item overrides a general one of the same kind.
  const specific = (item: XmlElement) => ovfAttribute(item, 'configuration') !== undefined;
  let cpuItem: XmlElement | undefined;
  let memoryItem: XmlElement | undefined;
  for (const item of applicableItems(hardware, info.defaultConfiguration)) {
    const resourceType = integer(itemProperty(item, 'ResourceType'));
    const instanceId = itemProperty(item, 'InstanceID') ?? itemProperty(item, 'InstanceId') ?? '';
    if (resourceType === 3) {
      if (cpuItem === undefined || (specific(item) && !specific(cpuItem))) cpuItem = item;
    } else if (resourceType === 4) {
      if (memoryItem === undefined || (specific(item) && !specific(memoryItem))) memoryItem = item;
    } else if (resourceType === 10) {
      const adapter: OvfNetworkAdapter = { instanceId };
      put(adapter, 'network', itemProperty(item, 'Connection'));
      put(adapter, 'subType', itemProperty(item, 'ResourceSubType'));
      put(adapter, 'name', itemProperty(item, 'ElementName') ?? itemProperty(item, 'Caption'));
      info.networkAdapters.push(adapter);
    } else if (resourceType !== undefined && (resourceType in CONTROLLER_TYPES)) {
      const subType = itemProperty(item, 'ResourceSubType');
      const controller: OvfController = { instanceId, kind: controllerKind(resourceType, subType), resourceType };
      put(controller, 'subType', subType);
      put(controller, 'name', itemProperty(item, 'ElementName') ?? itemProperty(item, 'Caption'));
      put(controller, 'address', itemProperty(item, 'Address'));
      info.controllers.push(controller);
    } else if (resourceType !== undefined && resourceType in DRIVE_TYPES) {
      info.drives.push(readDrive(item, instanceId, DRIVE_TYPES[resourceType] as OvfDriveKind));
    }
  }
  if (cpuItem !== undefined && info.cpus === undefined) {
    const cpus = integer(itemProperty(cpuItem, 'VirtualQuantity'));
    if (cpus === undefined) warnings.push('the processor item has no VirtualQuantity');
    else info.cpus = cpus;
    put(info, 'coresPerSocket', integer(childNamed(cpuItem, 'CoresPerSocket', VMW)?.text));
  }
  if (memoryItem !== undefined && info.memoryBytes === undefined) {
    const quantity = itemProperty(memoryItem, 'VirtualQuantity');
    const units = itemProperty(memoryItem, 'AllocationUnits');
    if (quantity === undefined || units === undefined) {
      warnings.push(`the memory item has no ${quantity === undefined ? 'VirtualQuantity' : 'AllocationUnits'}: its size is not known`);
    } else {
      const bytes = quantityInBytes(quantity, units);
      if ('bytes' in bytes) info.memoryBytes = bytes.bytes;
      else warnings.push(`memory "${quantity.slice(0, 40)}" in units "${units.slice(0, 40)}" is not a byte count (${bytes.problem})`);
    }
  }
  for (const config of childrenNamed(hardware, 'Config', VMW)) {
    const key = attributeValue(config, 'key', VMW);
    const value = attributeValue(config, 'value', VMW)?.toLowerCase();
    if (key === 'firmware' && (value === 'efi' || value === 'bios')) firmwareFound.push({ firmware: value, source: 'vmware' });
    if ((key === 'bootOptions.efiSecureBootEnabled' || key === 'uefi.secureBoot.enabled') && (value === 'true' || value === 'false')) info.secureBoot = value === 'true';
  }
  for (const data of hardware.children.filter((child) => child.name === 'VirtualSystemOtherConfigurationData' && child.namespace === XENOVF_NS)) {
    if (data.attributes.find((attribute) => attribute.name === 'Name')?.value !== 'HVM_boot_params') continue;
    const value = (data.children.find((child) => child.name === 'Value')?.text ?? data.text).trim();
    const firmware = /(?:^|;)\s*firmware=([a-z]+)/i.exec(value)?.[1]?.toLowerCase();
    if (firmware === 'uefi') firmwareFound.push({ firmware: 'efi', source: 'xenserver' });
    else if (firmware === 'bios') firmwareFound.push({ firmware: 'bios', source: 'xenserver' });
  }
}

function readDrive(item: XmlElement, instanceId: string, kind: OvfDriveKind): OvfDrive {
  const drive: OvfDrive = { instanceId, kind };
  const hostResource = itemProperty(item, 'HostResource');
  put(drive, 'hostResource', hostResource);
  // DSP0243 8.3: "ovf:/disk/<id>" or "ovf:/file/<id>"; VirtualBox writes "/disk/<id>" (its OVF 0.9 habit, kept in 1.0 and 2.0).
  const match = hostResource === undefined ? null : /^(?:ovf:)?\/+(disk|file)\/(.+)$/.exec(hostResource);
  if (match?.[1] === 'disk') drive.diskId = match[2] as string;
  else if (match?.[1] === 'file') drive.fileId = match[2] as string;
  put(drive, 'parent', itemProperty(item, 'Parent'));
  put(drive, 'addressOnParent', itemProperty(item, 'AddressOnParent'));
  return drive;
}

/** VirtualBox's machine settings: `Hardware/Firmware/@type` (settings 1.x; also under `Platform` in 7.1). */
function virtualBoxFirmware(machine: XmlElement): 'bios' | 'efi' | undefined {
  const hardware = childNamed(machine, 'Hardware');
  if (hardware === undefined) return undefined;
  const firmware = childNamed(hardware, 'Firmware') ?? childNamed(childNamed(hardware, 'Platform') ?? hardware, 'Firmware');
  const type = firmware?.attributes.find((attribute) => attribute.name === 'type' && attribute.namespace === '')?.value;
  if (type === undefined) return undefined;
  // Settings.cpp: "BIOS" or "1"; "EFI", "EFI32", "EFI64", "EFIDUAL" or "2".
  if (type === 'BIOS' || type === '1') return 'bios';
  if (type.startsWith('EFI') || type === '2') return 'efi';
  return undefined;
}

function chooseFirmware(
  info: OvfInfo,
  found: Array<{ firmware: 'bios' | 'efi'; source: 'vmware' | 'virtualbox' | 'xenserver' }>,
  warnings: string[],
): void {
  if (found.length === 0) return;
  // Descriptors meant for both hypervisors carry both records; the hardware family says whose the machine is.
  const preferred = info.hardwareFamily?.startsWith('virtualbox') ? 'virtualbox' : info.hardwareFamily?.startsWith('vmx') ? 'vmware' : undefined;
  const chosen = found.find((candidate) => candidate.source === preferred) ?? (found[0] as (typeof found)[number]);
  info.firmware = chosen.firmware;
  info.firmwareSource = chosen.source;
  const disagreeing = found.find((candidate) => candidate.firmware !== chosen.firmware);
  if (disagreeing !== undefined) warnings.push(`firmware: ${chosen.source} says ${chosen.firmware}, ${disagreeing.source} says ${disagreeing.firmware}`);
}

/** Links each disk to the first drive that holds it, and that drive to its controller. */
function attachDisks(info: OvfInfo, warnings: string[]): void {
  const controllers = new Map(info.controllers.map((controller) => [controller.instanceId, controller]));
  const disks = new Map(info.disks.map((disk) => [disk.diskId, disk]));
  for (const drive of info.drives) {
    if (drive.diskId === undefined) continue;
    const disk = disks.get(drive.diskId);
    if (disk === undefined) {
      warnings.push(`drive ${drive.instanceId}: HostResource "${drive.hostResource}" names no Disk`);
      continue;
    }
    if (disk.attachment !== undefined) continue;
    const attachment: OvfAttachment = { driveId: drive.instanceId, drive: drive.kind };
    if (drive.parent !== undefined) {
      attachment.controllerId = drive.parent;
      const controller = controllers.get(drive.parent);
      if (controller === undefined) warnings.push(`drive ${drive.instanceId}: Parent ${drive.parent} is not a controller item`);
      else {
        attachment.controllerKind = controller.kind;
        put(attachment, 'controllerSubType', controller.subType);
      }
    }
    put(attachment, 'addressOnParent', drive.addressOnParent);
    disk.attachment = attachment;
  }
}

/** Every element in the CIM_ProcessorAllocationSettingData namespace, as Glance's `ovf_process` collects them (document order, last wins). */
function collectCimPasd(element: XmlElement, into: Record<string, string>): void {
  for (const child of element.children) {
    // Children first: Glance's iterparse sees an element's end after its children's.
    collectCimPasd(child, into);
    if (child.namespace === CIM_PASD_NAMESPACE) into[`cim_pasd_${child.name}`] = child.text.trim();
  }
}

/**
 * What is wrong with an href as an archive member name: a URL (any `scheme:`), an
 * absolute path (`/x`, `\x`, `C:\x`), a `..` component, or nothing at all. OVF allows URLs
 * (DSP0243 5.2), but an OVA's files are its members, and an importer that follows a URL or
 * a path out of the package reads what the package's author chose.
 */
export function hrefProblems(href: string): OvfHrefProblem[] {
  const problems: OvfHrefProblem[] = [];
  if (href.trim() === '') return ['empty'];
  if (/^[a-zA-Z]:[\\/]/.test(href) || href.startsWith('/') || href.startsWith('\\')) problems.push('absolute');
  else if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(href)) problems.push('url');
  if (href.split(/[\\/]/).some((part) => part === '..' || /^%2e%2e$/i.test(part))) problems.push('parent');
  return problems;
}

function unsafeHrefs(files: OvfFile[]): OvfHazards['unsafeHrefs'] {
  const found: OvfHazards['unsafeHrefs'] = [];
  for (const file of files) {
    const problems = hrefProblems(file.href);
    if (problems.length > 0) found.push({ fileId: file.id, href: file.href, problems });
  }
  return found;
}

function normalizeMember(name: string): string {
  return name.replace(/^(\.\/)+/, '');
}

function missingFiles(files: OvfFile[], available: Iterable<string>, unsafe: OvfHazards['unsafeHrefs']): string[] {
  const present = new Set<string>();
  for (const name of available) present.add(normalizeMember(name));
  const skipped = new Set(unsafe.map((entry) => entry.fileId));
  const missing: string[] = [];
  for (const file of files) {
    if (skipped.has(file.id)) continue;
    const name = normalizeMember(file.href);
    // A chunked file is stored as href.000000000, href.000000001, ... (DSP0243 5.3).
    const first = file.chunkSize === undefined ? name : `${name}.000000000`;
    if (!present.has(first)) missing.push(file.href);
  }
  return missing;
}

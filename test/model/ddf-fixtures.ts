/**
 * Builders for small DDF documents used by the model tests. A field set to
 * null leaves its element out; undefined uses a plausible default.
 */

export interface ItemSpec {
  id?: string | null;
  name?: string | null;
  operations?: string | null;
  multiple?: string | null;
  mandatory?: string | null;
  type?: string | null;
  range?: string | null;
  units?: string | null;
  description?: string | null;
}

export interface ObjectSpec {
  objectType?: string | null;
  id?: string | null;
  name?: string | null;
  urn?: string | null;
  lwm2mVersion?: string | null;
  objectVersion?: string | null;
  multiple?: string | null;
  mandatory?: string | null;
  description?: string | null;
  items?: ItemSpec[];
}

function element(name: string, value: string | null | undefined, fallback: string | null): string {
  const text = value === undefined ? fallback : value;
  return text === null ? '' : `<${name}>${text}</${name}>`;
}

export function itemXml(spec: ItemSpec): string {
  const id = spec.id === undefined ? '0' : spec.id;
  const attr = id === null ? '' : ` ID="${id}"`;
  return [
    `<Item${attr}>`,
    element('Name', spec.name, 'Value'),
    element('Operations', spec.operations, 'R'),
    element('MultipleInstances', spec.multiple, 'Single'),
    element('Mandatory', spec.mandatory, 'Optional'),
    element('Type', spec.type, 'Integer'),
    element('RangeEnumeration', spec.range, ''),
    element('Units', spec.units, ''),
    element('Description', spec.description, 'A resource description that must not be kept.'),
    '</Item>',
  ].join('\n');
}

export function objectXml(spec: ObjectSpec): string {
  const type = spec.objectType === undefined ? 'MODefinition' : spec.objectType;
  const attr = type === null ? '' : ` ObjectType="${type}"`;
  const items = (spec.items ?? [{}]).map(itemXml).join('\n');
  return [
    `<Object${attr}>`,
    element('Name', spec.name, 'Test Object'),
    element('Description1', spec.description, 'An object description that must not be kept.'),
    element('ObjectID', spec.id, '40000'),
    element('ObjectURN', spec.urn, 'urn:oma:lwm2m:x:40000'),
    element('LWM2MVersion', spec.lwm2mVersion, '1.1'),
    element('ObjectVersion', spec.objectVersion, '1.0'),
    element('MultipleInstances', spec.multiple, 'Multiple'),
    element('Mandatory', spec.mandatory, 'Optional'),
    `<Resources>${items}</Resources>`,
    '</Object>',
  ].join('\n');
}

export function ddfXml(...objects: ObjectSpec[]): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!-- test document -->',
    '<LWM2M xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="LWM2M.xsd">',
    ...objects.map(objectXml),
    '</LWM2M>',
    '',
  ].join('\n');
}

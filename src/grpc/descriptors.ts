/**
 * FileDescriptorProtos for server reflection, built from the protobufjs root of src/proto/serving-protos.ts
 * the way protoc would write them: one per .proto file (named relative to proto/, google/protobuf/*
 * for the well-known types), fully qualified `.package.Type` references, `dependency` lists, map fields
 * as nested `<Name>Entry` messages, proto3 `optional` fields with their synthetic oneofs. protobufjs's
 * own toDescriptor groups by package, writes relative names and other map entry names, which strict
 * clients (grpcurl, Go protobuf) refuse. Only the files the given services reach are built.
 */
import path from 'node:path';

import protobuf from 'protobufjs';
import { FileDescriptorProto } from 'protobufjs/ext/descriptor';

import { protoDir, protoRoot } from '../proto/serving-protos.js';

// google.protobuf.FieldDescriptorProto.Type
const SCALAR_TYPES: Readonly<Record<string, number>> = {
  double: 1, float: 2, int64: 3, uint64: 4, int32: 5, fixed64: 6, fixed32: 7, bool: 8, string: 9,
  bytes: 12, uint32: 13, sfixed32: 15, sfixed64: 16, sint32: 17, sint64: 18,
};
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_OPTIONAL = 1;
const LABEL_REPEATED = 3;

type Definition = protobuf.Type | protobuf.Enum | protobuf.Service;

/** The file's name relative to `dir`; protobufjs keeps no file for its bundled well-known types: protoc's names. */
function fileOfIn(definition: protobuf.ReflectionObject, dir: string): string {
  if (definition.filename) return path.relative(dir, definition.filename).split(path.sep).join('/');
  const name = definition.fullName.replace(/^\./, '');
  if (name === 'google.protobuf.Any') return 'google/protobuf/any.proto';
  if (name.startsWith('google.protobuf.') && name.endsWith('Value')) return 'google/protobuf/wrappers.proto';
  throw new Error(`no .proto file known for ${name}`);
}

function packageOf(definition: protobuf.ReflectionObject): string {
  const parent = definition.parent;
  return parent && parent.fullName ? parent.fullName.replace(/^\./, '') : '';
}

function entryName(field: string): string {
  return `${field.replace(/(?:^|_)([a-z0-9])/g, (_, c: string) => c.toUpperCase())}Entry`;
}

interface Builder {
  references: Set<protobuf.ReflectionObject>;
}

function typeReference(field: protobuf.Field, builder: Builder): Record<string, unknown> {
  const scalar = SCALAR_TYPES[field.type];
  if (scalar !== undefined) return { type: scalar };
  const resolved = field.resolvedType;
  if (resolved === null) throw new Error(`unresolved type ${field.type} of ${field.fullName}`);
  builder.references.add(resolved);
  return { type: resolved instanceof protobuf.Enum ? TYPE_ENUM : TYPE_MESSAGE, typeName: resolved.fullName };
}

function enumDescriptor(definition: protobuf.Enum): Record<string, unknown> {
  return { name: definition.name, value: Object.entries(definition.values).map(([name, number]) => ({ name, number })) };
}

function messageDescriptor(type: protobuf.Type, builder: Builder): Record<string, unknown> {
  const realOneofs = type.oneofsArray.filter((oneof) => !oneof.fieldsArray.every((f) => f.options?.['proto3_optional'] === true));
  const fields: Record<string, unknown>[] = [];
  const nested: Record<string, unknown>[] = [];
  const syntheticOneofs: string[] = [];
  for (const field of type.fieldsArray) {
    const descriptor: Record<string, unknown> = { name: field.name, number: field.id, label: field.repeated ? LABEL_REPEATED : LABEL_OPTIONAL };
    if (field instanceof protobuf.MapField) {
      const entry = entryName(field.name);
      const key = { name: 'key', number: 1, label: LABEL_OPTIONAL, type: SCALAR_TYPES[field.keyType] };
      const value = { name: 'value', number: 2, label: LABEL_OPTIONAL, ...typeReference(field, builder) };
      nested.push({ name: entry, field: [key, value], options: { mapEntry: true } });
      Object.assign(descriptor, { label: LABEL_REPEATED, type: TYPE_MESSAGE, typeName: `${type.fullName}.${entry}` });
    } else {
      Object.assign(descriptor, typeReference(field, builder));
    }
    if (field.options?.['proto3_optional'] === true) {
      descriptor['proto3Optional'] = true;
      descriptor['oneofIndex'] = realOneofs.length + syntheticOneofs.length;
      syntheticOneofs.push(`_${field.name}`);
    } else if (field.partOf) {
      descriptor['oneofIndex'] = realOneofs.indexOf(field.partOf);
    }
    fields.push(descriptor);
  }
  for (const child of type.nestedArray) {
    if (child instanceof protobuf.Type) nested.push(messageDescriptor(child, builder));
  }
  return {
    name: type.name,
    field: fields,
    nestedType: nested,
    enumType: type.nestedArray.filter((child) => child instanceof protobuf.Enum).map((child) => enumDescriptor(child as protobuf.Enum)),
    oneofDecl: [...realOneofs.map((oneof) => ({ name: oneof.name })), ...syntheticOneofs.map((name) => ({ name }))],
  };
}

function serviceDescriptor(service: protobuf.Service, builder: Builder): Record<string, unknown> {
  return {
    name: service.name,
    method: service.methodsArray.map((method) => {
      method.resolve();
      builder.references.add(method.resolvedRequestType!);
      builder.references.add(method.resolvedResponseType!);
      return {
        name: method.name,
        inputType: method.resolvedRequestType!.fullName,
        outputType: method.resolvedResponseType!.fullName,
        clientStreaming: Boolean(method.requestStream),
        serverStreaming: Boolean(method.responseStream),
      };
    }),
  };
}

function topLevel(definition: protobuf.ReflectionObject): Definition {
  let current = definition;
  while (current.parent instanceof protobuf.Type) current = current.parent;
  return current as Definition;
}

/**
 * Serialized FileDescriptorProtos of the files that define `serviceNames` and everything they use;
 * `root` was loaded from the .proto files under `dir` (default: tfserve's own, proto/).
 */
export function fileDescriptorProtos(serviceNames: readonly string[], root: protobuf.Root = protoRoot(), dir: string = protoDir()): Buffer[] {
  const fileOf = (definition: protobuf.ReflectionObject): string => fileOfIn(definition, dir);
  const files = new Map<string, { definitions: Set<Definition>; package: string }>();
  const pending: Definition[] = serviceNames.map((name) => root.lookupService(name));
  const seen = new Set<Definition>();
  while (pending.length > 0) {
    const definition = pending.pop()!;
    if (seen.has(definition)) continue;
    seen.add(definition);
    const file = fileOf(definition);
    const entry = files.get(file) ?? { definitions: new Set<Definition>(), package: packageOf(definition) };
    entry.definitions.add(definition);
    files.set(file, entry);
    // Everything else in the same file comes along, as it would in protoc's descriptor.
    for (const sibling of definition.parent!.nestedArray) {
      if ((sibling instanceof protobuf.Type || sibling instanceof protobuf.Enum || sibling instanceof protobuf.Service) && fileOf(sibling) === file) {
        pending.push(sibling);
      }
    }
    if (definition instanceof protobuf.Type) {
      const builder: Builder = { references: new Set() };
      messageDescriptor(definition, builder);
      for (const reference of builder.references) pending.push(topLevel(reference));
    } else if (definition instanceof protobuf.Service) {
      const builder: Builder = { references: new Set() };
      serviceDescriptor(definition, builder);
      for (const reference of builder.references) pending.push(topLevel(reference));
    }
  }
  const out: Buffer[] = [];
  for (const [name, entry] of files) {
    const builder: Builder = { references: new Set() };
    const definitions = [...entry.definitions];
    const messageType = definitions.filter((d) => d instanceof protobuf.Type).map((d) => messageDescriptor(d as protobuf.Type, builder));
    const enumType = definitions.filter((d) => d instanceof protobuf.Enum).map((d) => enumDescriptor(d as protobuf.Enum));
    const service = definitions.filter((d) => d instanceof protobuf.Service).map((d) => serviceDescriptor(d as protobuf.Service, builder));
    const dependency = [...new Set([...builder.references].map((r) => fileOf(topLevel(r))))].filter((file) => file !== name).sort();
    const descriptor = FileDescriptorProto.fromObject({ name, package: entry.package, dependency, messageType, enumType, service, syntax: 'proto3' });
    out.push(Buffer.from(FileDescriptorProto.encode(descriptor).finish()));
  }
  return out;
}

/**
 * SignatureDef.DebugString(): protobuf's text format of a SignatureDef given in its proto JSON form,
 * which TF Serving quotes in its signature errors ("No classification inputs found in SignatureDef:
 * ..."). Fields in number order, map entries by key, as protobuf's printer writes them.
 */
import type { SignatureDefJson } from '../model/signature.js';

/** protobuf's CEscape: C escapes for quotes, backslash and \n\r\t, octal for other non-printables. */
function cEscape(bytes: Uint8Array): string {
  let text = '';
  for (const c of bytes) {
    switch (c) {
      case 0x0a:
        text += '\\n';
        break;
      case 0x0d:
        text += '\\r';
        break;
      case 0x09:
        text += '\\t';
        break;
      case 0x22:
        text += '\\"';
        break;
      case 0x27:
        text += "\\'";
        break;
      case 0x5c:
        text += '\\\\';
        break;
      default:
        text += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\${c.toString(8).padStart(3, '0')}`;
    }
  }
  return text;
}

function quoted(text: string): string {
  return `"${cEscape(Buffer.from(text, 'utf8'))}"`;
}

interface ShapeJson {
  dim?: { size?: string; name?: string }[];
  unknown_rank?: boolean;
}

function shapeText(shape: ShapeJson, indent: string): string {
  let text = '';
  for (const dim of shape.dim ?? []) {
    text += `${indent}dim {\n`;
    if (dim.size !== undefined && dim.size !== '0') text += `${indent}  size: ${dim.size}\n`;
    if (dim.name) text += `${indent}  name: ${quoted(dim.name)}\n`;
    text += `${indent}}\n`;
  }
  if (shape.unknown_rank) text += `${indent}unknown_rank: true\n`;
  return text;
}

function messageField(name: string, body: string, indent: string): string {
  return `${indent}${name} {\n${body}${indent}}\n`;
}

/** Text format of a TensorInfo or TensorProto given in its proto JSON form (fields in number order). */
function tensorText(value: Record<string, unknown>, indent: string): string {
  let text = '';
  if (typeof value['name'] === 'string' && value['name'] !== '') text += `${indent}name: ${quoted(value['name'])}\n`;
  if (typeof value['dtype'] === 'string' && value['dtype'] !== 'DT_INVALID') text += `${indent}dtype: ${value['dtype']}\n`;
  if (value['tensor_shape'] !== undefined) {
    text += messageField('tensor_shape', shapeText(value['tensor_shape'] as ShapeJson, `${indent}  `), indent);
  }
  if (typeof value['tensor_content'] === 'string') {
    text += `${indent}tensor_content: "${cEscape(Buffer.from(value['tensor_content'], 'base64'))}"\n`;
  }
  for (const field of ['float_val', 'double_val', 'int_val', 'string_val', 'int64_val', 'bool_val', 'half_val', 'uint32_val', 'uint64_val']) {
    const values = value[field];
    if (!Array.isArray(values)) continue;
    for (const item of values) {
      const rendered = field === 'string_val' ? `"${cEscape(Buffer.from(String(item), 'base64'))}"` : String(item);
      text += `${indent}${field}: ${rendered}\n`;
    }
  }
  return text;
}

function mapText(field: string, map: Readonly<Record<string, unknown>> | undefined, indent: string): string {
  let text = '';
  for (const key of Object.keys(map ?? {}).sort()) {
    const inner = `${indent}  `;
    const value = tensorText(map![key] as Record<string, unknown>, `${inner}  `);
    text += messageField(field, `${inner}key: ${quoted(key)}\n${messageField('value', value, inner)}`, indent);
  }
  return text;
}

export function signatureDebugString(signature: SignatureDefJson): string {
  let text = mapText('inputs', signature.inputs, '') + mapText('outputs', signature.outputs, '');
  if (signature.method_name) text += `method_name: ${quoted(signature.method_name)}\n`;
  return text + mapText('defaults', signature.defaults, '');
}

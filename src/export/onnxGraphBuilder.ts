// A small builder for ONNX graphs: initializers, constants and nodes with unique names.
// Weights are added as float32; with `fp16Weights` they are stored as float16 initializers and
// a Cast to float is put in front, so the graph computes in float32 and the file is half the size.
import { floatArrayToHalfBits } from '../io/halfFloat.js';
import {
  AttributeType, DataType, type AttributeProto, type DataTypeCode, type GraphProto, type NodeProto,
  type TensorProto, type ValueInfoProto,
} from './onnxProto.js';

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };
export type Dim = number | string;

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function attribute(name: string, value: AttrValue): AttributeProto {
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`internal error: attribute ${name}=${value}: use { float } for floats`);
    return { name, type: AttributeType.INT, i: value };
  }
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.FLOATS, floats: value.floats };
}

function valueInfo(name: string, elemType: DataTypeCode, dims: Dim[]): ValueInfoProto {
  return {
    name,
    type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  };
}

export class OnnxGraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private readonly int64Constants = new Map<string, string>();
  private readonly floatConstants = new Map<number, string>();

  constructor(private readonly options: { fp16Weights: boolean }) {}

  /** `base`, or `base_1`, `base_2` … : every value and node name is unique in the graph. */
  uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  input(name: string, dims: Dim[]): string {
    this.used.add(name);
    this.inputs.push(valueInfo(name, DataType.FLOAT, dims));
    return name;
  }

  /** Marks `value` as a graph output called `name` (an Identity renames it when needed). */
  output(value: string, name: string, dims: Dim[]): void {
    if (value !== name) {
      this.used.add(name);
      this.nodes.push({ name: this.uniqueName(`${name}_identity`), op_type: 'Identity', input: [value], output: [name], attribute: [] });
    }
    this.outputs.push(valueInfo(name, DataType.FLOAT, dims));
  }

  /** A float weight; returns the name of a float32 value holding it. */
  weight(name: string, data: Float32Array, dims: number[]): string {
    const numel = dims.reduce((a, b) => a * b, 1);
    if (data.length !== numel) throw new Error(`internal error: weight ${name} has ${data.length} values for dims [${dims.join(', ')}]`);
    if (!this.options.fp16Weights) {
      const stored = this.uniqueName(name);
      this.initializers.push({ name: stored, dims, data_type: DataType.FLOAT, raw_data: bytesOf(data) });
      return stored;
    }
    const half = floatArrayToHalfBits(data);
    const stored = this.uniqueName(`${name}.fp16`);
    this.initializers.push({ name: stored, dims, data_type: DataType.FLOAT16, raw_data: bytesOf(half) });
    return this.node('Cast', [stored], { to: DataType.FLOAT }, name);
  }

  /** A float32 scalar constant (kept in float32 even with fp16 weights), shared by value. */
  scalar(value: number): string {
    const known = this.floatConstants.get(value);
    if (known) return known;
    const name = this.uniqueName(`const_f_${value}`);
    this.initializers.push({ name, dims: [], data_type: DataType.FLOAT, raw_data: bytesOf(new Float32Array([value])) });
    this.floatConstants.set(value, name);
    return name;
  }

  /** An int64 constant (shapes, indices); a scalar when `scalar` is set, a 1-D tensor otherwise. */
  int64(values: number[], scalar = false): string {
    const key = `${scalar ? 's' : 'v'}:${values.join(',')}`;
    const known = this.int64Constants.get(key);
    if (known) return known;
    if (scalar && values.length !== 1) throw new Error('internal error: an int64 scalar needs exactly one value');
    const name = this.uniqueName(`const_i_${values.join('_').replace(/-/g, 'm')}`);
    this.initializers.push({
      name, dims: scalar ? [] : [values.length], data_type: DataType.INT64,
      raw_data: bytesOf(BigInt64Array.from(values, (v) => BigInt(v))),
    });
    this.int64Constants.set(key, name);
    return name;
  }

  /** Adds one node with a single output, named after `hint` (or the op), and returns that output. */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, hint?: string): string {
    const out = this.uniqueName(hint ?? op.toLowerCase());
    this.nodes.push({
      name: this.uniqueName(`${out}/${op}`),
      op_type: op,
      input: inputs,
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  build(name: string): GraphProto {
    return { name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs };
  }
}

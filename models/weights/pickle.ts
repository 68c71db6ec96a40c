/**
 * A restricted unpickler for PyTorch state dicts: the `data.pkl` that `torch.save` writes (pickle protocol 2).
 *
 * A pickle is a program for a stack machine, and Python's unpickler runs whatever callable it names
 * (`posix.system`, `builtins.eval`, …). This one is a data reader instead: it knows only the opcodes a state
 * dict uses and only the globals it needs, and it never calls anything. The two "calls" a state dict makes
 * are interpreted here: `OrderedDict()` becomes a Map, and `torch._utils._rebuild_tensor_v2(storage, offset,
 * size, stride, …)` becomes a description of a tensor view (models/weights/pth.ts maps it to file bytes).
 * Any other global or opcode is refused by name before anything else happens.
 */
import type { DType } from "../graph/dtype.ts";

export class PickleError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(`byte ${offset}: ${message}`);
    this.name = "PickleError";
  }
}

/** A tuple, kept apart from lists so that argument and persistent-id shapes can be checked. */
export class Tuple {
  constructor(readonly items: PickleValue[]) {}
}

/** A storage named by persistent id: torch.save's ('storage', <type>, key, location, numel) (torch/serialization.py). */
export class StorageRef {
  constructor(
    /** The file name under `<archive>/data/`. */
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
  ) {}
}

/** What `_rebuild_tensor_v2` would build: a view of `shape` with `strides` into a storage, from element `offset`. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly strides: number[],
  ) {}
}

/** A global the pickle may name; interpreted here, never looked up or called. */
class Global {
  constructor(readonly name: string) {}
}

export type PickleValue =
  | null
  | boolean
  | number
  | string
  | PickleValue[]
  | Tuple
  | Map<PickleValue, PickleValue>
  | StorageRef
  | TensorRef
  | Global;

/**
 * The storage classes a persistent id may name, with their element types. Float, Half and BFloat16 carry
 * the weights; the integer and bool ones are listed too because a state dict may hold such buffers (they
 * are data, and the weight store refuses non-float tensors a model asks for, by name).
 */
const STORAGE_TYPES: Record<string, DType> = {
  "torch.FloatStorage": "float32",
  "torch.HalfStorage": "float16",
  "torch.BFloat16Storage": "bfloat16",
  "torch.DoubleStorage": "float64",
  "torch.LongStorage": "int64",
  "torch.IntStorage": "int32",
  "torch.CharStorage": "int8",
  "torch.ByteStorage": "uint8",
  "torch.BoolStorage": "bool",
};
const ORDERED_DICT = "collections.OrderedDict";
const REBUILD_TENSOR = "torch._utils._rebuild_tensor_v2";
const ALLOWED_GLOBALS = new Set([ORDERED_DICT, REBUILD_TENSOR, ...Object.keys(STORAGE_TYPES)]);

/** Every standard pickle opcode by byte (pickletools' names): the handled ones by name below, the rest named when refused. */
const OPCODE_NAMES: Record<number, string> = {
  0x28: "MARK", 0x2e: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT",
  0x4a: "BININT", 0x4b: "BININT1", 0x4c: "LONG", 0x4d: "BININT2", 0x4e: "NONE", 0x50: "PERSID",
  0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
  0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT",
  0x7d: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET", 0x69: "INST", 0x6a: "LONG_BINGET",
  0x6c: "LIST", 0x5d: "EMPTY_LIST", 0x6f: "OBJ", 0x70: "PUT", 0x71: "BINPUT", 0x72: "LONG_BINPUT",
  0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT", 0x80: "PROTO",
  0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3",
  0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8a: "LONG1", 0x8b: "LONG4", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES",
  0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8", 0x8e: "BINBYTES8", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS",
  0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME",
  0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
};

/** Reads a state-dict pickle into plain values (Maps, Tuples, TensorRefs); throws PickleError on anything else. */
export function unpickle(bytes: Uint8Array): PickleValue {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: PickleValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;
  let at = 0; // where the current opcode starts, for messages

  const fail: (message: string) => never = (message) => {
    throw new PickleError(at, message);
  };
  const need = (n: number) => {
    if (pos + n > data.length) fail("the pickle ends in the middle of an opcode (truncated?)");
    const start = pos;
    pos += n;
    return start;
  };
  const pop = (): PickleValue => (stack.length ? stack.pop()! : fail("stack underflow (malformed pickle)"));
  const top = (): PickleValue => (stack.length ? stack[stack.length - 1] : fail("stack underflow (malformed pickle)"));
  const popMark = (): PickleValue[] => {
    const m = marks.pop();
    if (m === undefined) fail("no MARK before this opcode (malformed pickle)");
    return stack.splice(m);
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail("GLOBAL without a newline (truncated?)");
    const s = data.toString("latin1", pos, end);
    pos = end + 1;
    return s;
  };
  const get = (index: number) => (memo.has(index) ? memo.get(index)! : fail(`memo entry ${index} was never stored`));

  while (true) {
    at = pos;
    const op = data[need(1)];
    const name = OPCODE_NAMES[op];
    switch (name) {
      case "PROTO": {
        const version = data[need(1)];
        if (version > 2) fail(`pickle protocol ${version}; torch.save writes protocol 2 (re-save with the default pickle_protocol)`);
        break;
      }
      case "STOP":
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack (malformed pickle)`);
        return stack[0];
      case "MARK":
        marks.push(stack.length);
        break;
      case "EMPTY_DICT":
        stack.push(new Map());
        break;
      case "EMPTY_LIST":
        stack.push([]);
        break;
      case "EMPTY_TUPLE":
        stack.push(new Tuple([]));
        break;
      case "TUPLE":
        stack.push(new Tuple(popMark()));
        break;
      case "TUPLE1":
      case "TUPLE2":
      case "TUPLE3": {
        const n = Number(name.slice(-1));
        if (stack.length < n) fail("stack underflow (malformed pickle)");
        stack.push(new Tuple(stack.splice(stack.length - n)));
        break;
      }
      case "BININT":
        stack.push(data.readInt32LE(need(4)));
        break;
      case "BININT1":
        stack.push(data[need(1)]);
        break;
      case "BININT2":
        stack.push(data.readUInt16LE(need(2)));
        break;
      case "LONG1": { // n-byte little-endian two's complement (sizes and offsets beyond 2³¹)
        const n = data[need(1)];
        const start = need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[start + i]);
        if (n > 0 && data[start + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) fail(`integer ${v} is too large`);
        stack.push(Number(v));
        break;
      }
      case "BINFLOAT": // big-endian double
        stack.push(data.readDoubleBE(need(8)));
        break;
      case "NEWTRUE":
        stack.push(true);
        break;
      case "NEWFALSE":
        stack.push(false);
        break;
      case "NONE":
        stack.push(null);
        break;
      case "BINUNICODE": {
        const n = data.readUInt32LE(need(4));
        const start = need(n);
        stack.push(data.toString("utf8", start, start + n));
        break;
      }
      case "BINPUT":
        memo.set(data[need(1)], top());
        break;
      case "LONG_BINPUT":
        memo.set(data.readUInt32LE(need(4)), top());
        break;
      case "BINGET":
        stack.push(get(data[need(1)]));
        break;
      case "LONG_BINGET":
        stack.push(get(data.readUInt32LE(need(4))));
        break;
      case "GLOBAL": { // "module\nname\n"; only looked up in the allow-list
        const global = `${line()}.${line()}`;
        if (!ALLOWED_GLOBALS.has(global)) {
          fail(`global ${global} is not allowed: a state dict needs only ${ORDERED_DICT}, ${REBUILD_TENSOR} and torch.*Storage types; nothing was executed`);
        }
        stack.push(new Global(global));
        break;
      }
      case "BINPERSID":
        stack.push(storageFromPersistentId(pop(), fail));
        break;
      case "REDUCE": { // callable(*args), for the two callables a state dict uses
        const args = pop();
        const callable = pop();
        if (!(args instanceof Tuple)) fail("REDUCE arguments are not a tuple (malformed pickle)");
        stack.push(reduce(callable, args.items, fail));
        break;
      }
      case "BUILD": { // state for the object below; a state dict's is its `_metadata` (module versions), not needed
        const state = pop();
        if (!(top() instanceof Map) || !(state === null || state instanceof Map || state instanceof Tuple)) {
          fail("BUILD on something other than a dict (not a state dict)");
        }
        break;
      }
      case "SETITEM": {
        const value = pop();
        const key = pop();
        dictOf(top(), fail).set(key, value);
        break;
      }
      case "SETITEMS": {
        const items = popMark();
        const dict = dictOf(top(), fail);
        if (items.length % 2) fail("SETITEMS with an odd number of values (malformed pickle)");
        for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
        break;
      }
      case "APPEND": {
        const value = pop();
        listOf(top(), fail).push(value);
        break;
      }
      case "APPENDS": {
        const items = popMark();
        listOf(top(), fail).push(...items);
        break;
      }
      default: {
        fail(`${name ? `opcode ${name}` : "unknown opcode"} (0x${op.toString(16).padStart(2, "0")}) is not allowed in a state dict`);
      }
    }
  }
}

function dictOf(v: PickleValue, fail: (m: string) => never): Map<PickleValue, PickleValue> {
  return v instanceof Map ? v : fail("SETITEM on something other than a dict (malformed pickle)");
}

function listOf(v: PickleValue, fail: (m: string) => never): PickleValue[] {
  return Array.isArray(v) ? v : fail("APPEND on something other than a list (malformed pickle)");
}

/** ('storage', torch.<Type>Storage, key, location, numel): torch/serialization.py, `persistent_id`. */
function storageFromPersistentId(pid: PickleValue, fail: (m: string) => never): StorageRef {
  const [tag, type, key, , numel] = pid instanceof Tuple ? pid.items : [];
  if (tag !== "storage" || !(type instanceof Global) || typeof key !== "string" || typeof numel !== "number") {
    return fail("persistent id is not torch's ('storage', type, key, location, numel)");
  }
  const dtype = STORAGE_TYPES[type.name];
  if (!dtype) return fail(`${type.name} is not a storage type`);
  return new StorageRef(key, dtype, numel);
}

function reduce(callable: PickleValue, args: PickleValue[], fail: (m: string) => never): PickleValue {
  if (!(callable instanceof Global)) return fail("REDUCE on something that is not a global (malformed pickle)");
  if (callable.name === ORDERED_DICT) {
    // torch pickles an OrderedDict as OrderedDict() followed by SETITEMS, so there are never arguments.
    return args.length === 0 ? new Map() : fail("OrderedDict called with arguments (not a state dict)");
  }
  if (callable.name === REBUILD_TENSOR) {
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    const [storage, offset, size, stride, , hooks] = args;
    const ints = (t: PickleValue | undefined) =>
      t instanceof Tuple && t.items.every((x) => typeof x === "number") ? (t.items as number[]) : undefined;
    const shape = ints(size);
    const strides = ints(stride);
    if (!(storage instanceof StorageRef) || typeof offset !== "number" || !shape || !strides || shape.length !== strides.length) {
      return fail("_rebuild_tensor_v2 with arguments that are not (storage, offset, size, stride, …)");
    }
    // Backward hooks would be code; a saved state dict has none.
    if (hooks instanceof Map && hooks.size > 0) return fail("tensor with backward hooks (not a state dict)");
    return new TensorRef(storage, offset, shape, strides);
  }
  return fail(`${callable.name} cannot be called`);
}

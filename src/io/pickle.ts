import { FileFormatError } from "./errors.js";

// Restricted unpickler. A pickle is a program: GLOBAL + REDUCE calls any importable function (os.system), so a
// checkpoint from the internet must never reach a general unpickler. This one builds plain data (null, boolean,
// number, bigint, string, Uint8Array, arrays, PyTuple, Map) and resolves GLOBAL only through the caller's allow-list;
// REDUCE can only call functions the caller implemented in JS. Nothing from the file is ever executed.

export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/** A global the caller allows. Without `call` it is a value only (a dtype, a storage type), not callable by REDUCE. */
export interface AllowedGlobal {
  readonly qualifiedName: string;
  call?(args: unknown[]): unknown;
}

export interface UnpickleOptions {
  /** Named in every error. */
  file: string;
  findGlobal(module: string, name: string): AllowedGlobal | undefined;
  persistentLoad(pid: unknown): unknown;
}

const MARK = Symbol("mark");

export function unpickle(data: Uint8Array, opts: UnpickleOptions): unknown {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;

  const fail = (msg: string): never => {
    throw new FileFormatError(opts.file, `pickle: ${msg}`);
  };
  const need = (n: number): number => {
    if (pos + n > data.length) fail(`truncated at byte ${pos}`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => data[need(1)]!;
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = (): number => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(data.length)) fail(`length ${v} exceeds the pickle size`);
    return Number(v);
  };
  const bytes = (n: number) => data.subarray(need(n), pos);
  const text = (n: number): string => {
    const raw = bytes(n);
    try {
      return utf8.decode(raw);
    } catch {
      return fail(`invalid UTF-8 string at byte ${pos - n}`);
    }
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail(`truncated at byte ${pos} (unterminated GLOBAL line)`);
    return text(end - pos + 1).slice(0, -1);
  };
  const pop = (): unknown => {
    if (stack.length === 0 || stack[stack.length - 1] === MARK) fail(`stack underflow at byte ${pos - 1}`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0 || stack[stack.length - 1] === MARK) fail(`stack underflow at byte ${pos - 1}`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) fail(`no MARK on the stack at byte ${pos - 1}`);
    const items = stack.splice(at);
    items.shift();
    return items;
  };
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) fail(`memo key ${i} is missing`);
    return memo.get(i);
  };
  const resolveGlobal = (module: string, name: string): AllowedGlobal => {
    const g = opts.findGlobal(module, name);
    if (!g) fail(`refusing to load global ${module}.${name}: it is not in the allow-list of tensor-rebuilding globals (the file may be malicious)`);
    return g!;
  };
  const asMap = (v: unknown): Map<unknown, unknown> => {
    if (!(v instanceof Map)) fail(`SETITEM(S) target is not a dict at byte ${pos - 1}`);
    return v as Map<unknown, unknown>;
  };
  const asList = (v: unknown): unknown[] => {
    if (!Array.isArray(v)) fail(`APPEND(S) target is not a list at byte ${pos - 1}`);
    return v as unknown[];
  };
  const setItems = (target: Map<unknown, unknown>, kv: unknown[]) => {
    if (kv.length % 2) fail("SETITEMS with an odd number of items");
    for (let i = 0; i < kv.length; i += 2) target.set(kv[i], kv[i + 1]);
  };
  const long = (n: number): number | bigint => {
    const b = bytes(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? Number(v) : v;
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail("unsupported pickle protocol");
        break;
      case 0x95: // FRAME: framing is only a read-ahead hint
        need(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} items on the stack`);
        return stack[0];
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(u8()));
        break;
      case 0x8b: {
        // LONG4
        const n = view.getInt32(need(4), true);
        if (n < 0 || n > 64) fail(`LONG4 of ${n} bytes`);
        stack.push(long(n));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x42: // BINBYTES
        stack.push(bytes(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(bytes(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const d = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        asList(top()).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = asList(top());
        for (const v of items) list.push(v);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        asMap(top()).set(k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const kv = popMark();
        setItems(asMap(top()), kv);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x30: // POP
        if (stack.pop() === undefined) fail("POP on an empty stack");
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(resolveGlobal(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop() as AllowedGlobal;
        if (!(args instanceof PyTuple)) fail("REDUCE arguments are not a tuple");
        if (typeof fn?.call !== "function") fail(`REDUCE of ${fn?.qualifiedName ?? "a non-global"}, which is not callable`);
        stack.push(fn.call!((args as PyTuple).items));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(opts.persistentLoad(pop()));
        break;
      case 0x62: // BUILD: the state of an allowed object (e.g. a state dict's _metadata) carries nothing we need
        pop();
        top();
        break;
      default:
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, "0")} at byte ${pos - 1}`);
    }
  }
}

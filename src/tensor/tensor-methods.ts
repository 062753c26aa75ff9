// PyTorch-style method sugar (x.add(y).relu()) over the functional ops.
import * as E from "./ops/elementwise.js";
import * as M from "./ops/matmul.js";
import * as N from "./ops/nn.js";
import * as R from "./ops/reduce.js";
import * as S from "./ops/shape.js";
import { Tensor } from "./tensor.js";

type Operand = Tensor | number;

declare module "./tensor.js" {
  interface Tensor {
    add(o: Operand): Tensor;
    sub(o: Operand): Tensor;
    mul(o: Operand): Tensor;
    div(o: Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    pow(p: number): Tensor;
    matmul(o: Tensor): Tensor;
    sum(dim?: number, keepdim?: boolean): Tensor;
    mean(dim?: number, keepdim?: boolean): Tensor;
    argmax(dim: number, keepdim?: boolean): Tensor;
    reshape(...shape: number[]): Tensor;
    view(...shape: number[]): Tensor;
    permute(...perm: number[]): Tensor;
    transpose(d0: number, d1: number): Tensor;
    softmax(dim?: number): Tensor;
    logSoftmax(dim?: number): Tensor;
  }
}

const P = Tensor.prototype;
P.add = function (o) { return E.add(this, o); };
P.sub = function (o) { return E.sub(this, o); };
P.mul = function (o) { return E.mul(this, o); };
P.div = function (o) { return E.div(this, o); };
P.neg = function () { return E.neg(this); };
P.exp = function () { return E.exp(this); };
P.log = function () { return E.log(this); };
P.sqrt = function () { return E.sqrt(this); };
P.tanh = function () { return E.tanh(this); };
P.sigmoid = function () { return E.sigmoid(this); };
P.relu = function () { return E.relu(this); };
P.pow = function (p) { return E.pow(this, p); };
P.matmul = function (o) { return M.matmul(this, o); };
P.sum = function (dim, keepdim) { return R.sum(this, dim, keepdim); };
P.mean = function (dim, keepdim) { return R.mean(this, dim, keepdim); };
P.argmax = function (dim, keepdim) { return R.argmax(this, dim, keepdim); };
P.reshape = function (...shape) { return S.reshape(this, shape); };
P.view = function (...shape) { return S.reshape(this, shape); };
P.permute = function (...perm) { return S.permute(this, perm); };
P.transpose = function (d0, d1) { return S.transpose(this, d0, d1); };
P.softmax = function (dim) { return N.softmax(this, dim); };
P.logSoftmax = function (dim) { return N.logSoftmax(this, dim); };

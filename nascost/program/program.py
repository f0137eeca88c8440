"""The compiled program: a frozen set of contiguous int64 arrays that the kernels interpret.

An instruction is a row of ``ins``: its opcode, destination register, input registers, guard
(an AND of "gene j's choice index is in mask" conditions), the register copied to the
destination when the guard fails (a skipped block's output is its input), one expression id
per field slot, and the genes its fields read (for liveness).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# columns of ins
C_OP = 0
C_DST = 1
C_IN_PTR = 2
C_IN_LEN = 3
C_G_PTR = 4
C_G_LEN = 5
C_ELSE = 6
C_F0 = 7  # 12 field slots: C_F0 .. C_F0 + 11 (nascost.rules.ops.SLOT_*)
C_LG_PTR = 19  # genes read by the fields
C_LG_LEN = 20
C_LAYER = 21  # index into Program.layer_names, -1 for internal moves
N_COLS = 22

# expression kinds (rows of ex: kind, then 7 operands)
EX_LIT = 0  # value = a
EX_TAB = 1  # value = aux[b + genes[a]]
EX_CHAN = 2  # value = scale_channels(C[a], num, den, e, f, g); b = gene of the ratio or -1,
#              then c, d = num, den (b < 0) or offsets of the num and den tables in aux
N_EX_COLS = 8

# columns of the per-layer record written by the breakdown kernel
R_ACTIVE = 0
R_IN_C, R_IN_H, R_IN_W, R_IN_RANK = 1, 2, 3, 4
R_OUT_C, R_OUT_H, R_OUT_W, R_OUT_RANK = 5, 6, 7, 8
R_PARAMS, R_MACS, R_FLOPS, R_ELEMS, R_STATUS = 9, 10, 11, 12, 13
R_Q0, R_Q1 = 14, 15  # the quantities of the layer's cost terms: R_Q0 .. R_Q0 + 7
R_QS = tuple(range(14, 22))  # (conventions.N_TERMS of them, in the order of op_terms)
N_REC = 22


@dataclass(frozen=True, eq=False)
class Program:
    ins: np.ndarray  # (n_instr, N_COLS) int64
    ex: np.ndarray  # (n_expr, N_EX_COLS) int64
    aux: np.ndarray  # (n_aux,) int64: input lists, guards, tables, gene lists
    n_regs: int
    n_genes: int
    cards: np.ndarray  # (n_genes,) int64
    layer_names: tuple[str, ...]
    layer_ops: tuple[str, ...]
    blocks: tuple[tuple[str, int, int], ...]  # (block name, first instr, end instr)
    top: tuple[tuple[int, int], ...]  # instruction range of each top-level node of the spec

    @property
    def n_instr(self) -> int:
        return int(self.ins.shape[0])

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.ins, self.ex, self.aux

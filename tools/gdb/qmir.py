# gdb pretty-printers for qmir's IR: shows a CPtr<T> (a 32-bit reference
# inside the IR cage, mir/Cage.h) as the T * it stands for, so that `p *inst`
# reads like it did with plain pointers.
#
#   (gdb) source tools/gdb/qmir.py
#   (gdb) p *inst
#   ... name = "dead"}, ... parent_ = (qmir::Block *) 0x7ffbec401838, ...
#   (gdb) p *$cptr(inst->parent_)
import gdb
import gdb.printing


def cptr_target(val):
    """The address a CPtr refers to, as a gdb.Value of type T *."""
    off = int(val["off_"])
    target = val.type.strip_typedefs().template_argument(0).pointer()
    if off == 0:
        return gdb.Value(0).cast(target)
    base = int(gdb.parse_and_eval("qmir::cage::base"))
    return gdb.Value(base + (off << 2)).cast(target)


class CPtrPrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        ptr = cptr_target(self.val)
        return "(%s) 0x%x" % (ptr.type, int(ptr))


def record_text(ptr):
    """The text of a string record (mir/Cage.h): a length byte (255: a 4-byte
    length follows), then the characters."""
    if int(ptr) == 0:
        return '""'
    raw = ptr.cast(gdb.lookup_type("unsigned char").pointer())
    n = int(raw[0])
    start = 1
    if n == 255:
        n = int((raw + 1).cast(gdb.lookup_type("unsigned int").pointer())[0])
        start = 5
    text = (raw + start).cast(gdb.lookup_type("char").pointer())
    return text.lazy_string(length=n) if n else '""'


class NamedPrinter:
    """qmir::Value and qmir::Block: their fields, with the name (a CPtr to a
    string record) shown as the string it is."""

    def __init__(self, val):
        self.val = val

    def to_string(self):
        return None

    def children(self):
        for f in self.val.type.strip_typedefs().fields():
            if f.name == "name_":
                yield "name", record_text(cptr_target(self.val["name_"]))
                continue
            yield f.name, self.val[f]


class InstructionPrinter:
    """qmir::Instruction: its fields, then its operands, which are not a
    field: they sit right before the instruction (or, for br, condbr, switch
    and match, after the successor array in the instruction's last word)."""

    EDGES = ("Br", "CondBr", "Switch", "Match")
    # Instruction::numAuxWords: 0 for these, 1 for ICmp, 3 for EnumPayload,
    # 2 for the rest.
    NO_AUX = ("Add", "Sub", "Mul", "SDiv", "SRem", "UDiv", "URem", "And", "Or",
              "Xor", "Shl", "LShr", "AShr", "Select", "ZExt", "SExt", "Trunc",
              "Load", "Store", "HeapFree", "Ret", "Unreachable")

    def __init__(self, val):
        self.val = val

    def opcode(self):
        """The opcode (opcode_'s top bit says whether there is room for a
        location) and whether there is room."""
        raw = int(self.val["opcode_"])
        op = gdb.Value(raw & 0x7f).cast(gdb.lookup_type("qmir::Opcode"))
        return op, bool(raw & 0x80)

    def loc(self):
        """The location id, or None without room for one (Instruction::loc)."""
        op, room = self.opcode()
        if not room:
            return None
        name = str(op).split("::")[-1]
        if name == "ICmp":
            word = 1
        elif name == "EnumPayload":
            word = 3
        elif name in self.NO_AUX:
            word = 0
        else:
            word = 2
        if name not in self.EDGES and int(self.val["ops16_"]) == 0xffff:
            word += 1
        words = (self.val.address + 1).cast(gdb.lookup_type("unsigned int").pointer())
        return int(words[word])

    def to_string(self):
        return None

    def operands(self):
        """The operands as (Use *, count); count is None when the count is
        in a word after the auxiliary ones (65,535 operands or more)."""
        use = gdb.lookup_type("qmir::Use")
        inst = self.val.address
        op = str(self.opcode()[0])
        if op.split("::")[-1] in self.EDGES:
            words = (inst + 1).cast(gdb.lookup_type("unsigned int").pointer())
            base = int(gdb.parse_and_eval("qmir::cage::base"))
            succs = base + (int(words[1]) << 2)
            header = int(gdb.Value(succs - 8).cast(
                gdb.lookup_type("unsigned long").pointer()).dereference())
            count, n = header & 0xffffffff, header >> 32
            first = succs + count * gdb.lookup_type("qmir::Successor").sizeof
        else:
            n = int(self.val["ops16_"])
            if n == 0xffff:
                return None, None
            first = int(inst.cast(gdb.lookup_type("char").pointer())) - n * use.sizeof
        return gdb.Value(first).cast(use.pointer()), n

    def children(self):
        op, _ = self.opcode()
        yield "opcode", op
        loc = self.loc()
        yield "loc", "(no room)" if loc is None else loc
        for f in self.val.type.strip_typedefs().fields():
            yield f.name, self.val[f]
        ops, n = self.operands()
        if n is None:
            yield "operands", "(65535 or more)"
            return
        yield "operands", n
        for k in range(n):
            yield "operand[%d]" % k, ops[k]["val_"]


class CPtrFunction(gdb.Function):
    """$cptr(ref): the pointer a qmir::CPtr refers to."""

    def __init__(self):
        super().__init__("cptr")

    def invoke(self, val):
        return cptr_target(val)


def build_printers():
    pp = gdb.printing.RegexpCollectionPrettyPrinter("qmir")
    pp.add_printer("CPtr", "^qmir::CPtr<.*>$", CPtrPrinter)
    pp.add_printer("Value", "^qmir::Value$", NamedPrinter)
    pp.add_printer("Block", "^qmir::Block$", NamedPrinter)
    pp.add_printer("Instruction", "^qmir::Instruction$", InstructionPrinter)
    return pp


gdb.printing.register_pretty_printer(gdb.current_objfile(), build_printers(),
                                     replace=True)
CPtrFunction()

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


class NamedPrinter:
    """qmir::Value and qmir::Block: their fields, with the name (stored as a
    CPtr to characters that are not NUL-terminated, plus a length) shown as
    the string it is."""

    def __init__(self, val):
        self.val = val

    def to_string(self):
        return None

    def children(self):
        for f in self.val.type.strip_typedefs().fields():
            if f.name == "nameLen_":
                continue
            if f.name == "nameData_":
                n = int(self.val["nameLen_"])
                ptr = cptr_target(self.val["nameData_"])
                yield "name", (ptr.lazy_string(length=n) if n else '""')
                continue
            yield f.name, self.val[f]


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
    return pp


gdb.printing.register_pretty_printer(gdb.current_objfile(), build_printers(),
                                     replace=True)
CPtrFunction()

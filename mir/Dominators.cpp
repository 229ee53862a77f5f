// Instruction- and value-level dominance queries on top of the block-level
// DominatorTree (the generic algorithm lives in Dominators.h).
#include "mir/Dominators.h"

using namespace qmir;

bool DominatorTree::dominates(const Instruction *def,
                              const Instruction *user) const {
  if (!def || !user || def == user)
    return false;
  const Block *db = def->parent();
  const Block *ub = user->parent();
  if (!db || !ub)
    return false;
  if (db != ub)
    return properlyDominates(db, ub);
  for (auto it = std::next(def->getIterator()), e = db->insts().end(); it != e;
       ++it)
    if (&*it == user)
      return true;
  return false;
}

bool DominatorTree::valueDominates(const Value *def,
                                   const Instruction *user) const {
  if (!def || !user)
    return false;
  switch (def->valueKind()) {
  case ValueKind::ConstInt:
  case ValueKind::ConstString:
  case ValueKind::Undef:
  case ValueKind::Argument:
    return true;
  case ValueKind::BlockArg:
    return user->parent() &&
           dominates(cast<BlockArg>(def)->parent(), user->parent());
  case ValueKind::Instruction:
    return dominates(cast<Instruction>(def), user);
  }
  return false;
}

//! What the name probe learned, kept for the composite's lifetime: per module, which probed
//! names its string section holds. A module's BTF does not change while it is loaded, so a
//! later probe for a name asks only modules that were never scanned for it (a module listed
//! later, or one whose scan failed), and a relocation repeated on the same composite reads
//! no module file again.
//!
//! Names are numbered once per composite; a module keeps `(number, found)` pairs, 8 bytes a
//! name, so remembering a handful of names for all 4,230 Debian modules costs about 100 KiB.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A probed name's number in a [`NameTable`].
pub(crate) type NameId = u32;

/// Probed names and their numbers.
#[derive(Debug, Default)]
pub(crate) struct NameTable {
    ids: Mutex<HashMap<Box<str>, NameId>>,
}

impl NameTable {
    /// The number of `name`, assigned on first use.
    pub(crate) fn id(&self, name: &str) -> NameId {
        let mut ids = lock(&self.ids);
        if let Some(&id) = ids.get(name) {
            return id;
        }
        let id = NameId::try_from(ids.len()).unwrap_or(NameId::MAX);
        ids.insert(name.into(), id);
        id
    }
}

/// One module's answers: did its string section hold the name?
#[derive(Debug, Default)]
pub(crate) struct SlotMemo {
    answers: Mutex<Vec<(NameId, bool)>>,
}

impl SlotMemo {
    /// Calls `answer(index, known)` for each name of `names` (by index; `None` entries are
    /// skipped), under one lock.
    pub(crate) fn lookup(
        &self,
        names: &[Option<NameId>],
        mut answer: impl FnMut(usize, Option<bool>),
    ) {
        let known = lock(&self.answers);
        for (i, name) in names.iter().enumerate() {
            let Some(name) = name else { continue };
            let found = known
                .iter()
                .find(|(id, _)| id == name)
                .map(|&(_, found)| found);
            answer(i, found);
        }
    }

    /// Remembers answers from a successful scan.
    pub(crate) fn remember(&self, answers: impl IntoIterator<Item = (NameId, bool)>) {
        let mut known = lock(&self.answers);
        for (name, found) in answers {
            if !known.iter().any(|(id, _)| *id == name) {
                known.push((name, found));
            }
        }
    }
}

/// A poisoned lock only means another thread panicked mid-update of a plain list: the data
/// is still a valid list of answers.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_numbered_once_and_answers_kept() {
        let names = NameTable::default();
        let (a, b) = (names.id("btrfs_inode"), names.id("xfs_inode"));
        assert_ne!(a, b);
        assert_eq!(names.id("btrfs_inode"), a);
        let memo = SlotMemo::default();
        let c = names.id("never_scanned");
        let answers = |memo: &SlotMemo| {
            let mut seen = Vec::new();
            memo.lookup(&[Some(a), None, Some(b), Some(c)], |i, known| {
                seen.push((i, known))
            });
            seen
        };
        assert_eq!(answers(&memo), [(0, None), (2, None), (3, None)]);
        memo.remember([(a, true), (b, false)]);
        memo.remember([(a, false)]); // the first answer stands
        assert_eq!(
            answers(&memo),
            [(0, Some(true)), (2, Some(false)), (3, None)]
        );
    }
}

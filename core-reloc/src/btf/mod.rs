//! A zero-copy reader for BTF, the BPF Type Format: vmlinux BTF, split (module) BTF on a base,
//! and BTF embedded in eBPF objects, in either byte order.
//!
//! [`Btf`] borrows or owns its bytes (see [`BtfBytes`]) and never copies types or strings out of
//! them. Parsing walks the type headers once (four overlapped walks stitched into one, see
//! `index.rs`), checking that every record lies inside the type section, and keeps one `u32`
//! offset per type so that [`Btf::type_by_id`] is O(1). Everything
//! else is decoded on demand from the bytes by the borrowed views in [`Type`]. The only other
//! per-type memory is an optional name index, built once a few name lookups have scanned.
//!
//! Every accessor is total: malformed data, out-of-range ids or offsets and reference cycles
//! give a [`BtfError`] or `None`, never a panic or an endless loop.
//!
//! ```
//! use std::sync::Arc;
//! use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, Kind, MemberSpec};
//!
//! // A base ("vmlinux") with `int` and `struct task { int pid; }`.
//! let mut base = BtfBuilder::new();
//! let int = base.add_int("int", 4, IntEncoding::SIGNED);
//! base.add_struct("task", 4, &[MemberSpec::new("pid", int, 0)]);
//! let base = Arc::new(Btf::parse(base.build())?);
//!
//! // A split ("module") BTF whose struct refers to the base's `int`.
//! let mut module = BtfBuilder::new_split(&base);
//! let inode = module.add_struct("my_inode", 8, &[MemberSpec::new("gen", int, 32)]);
//! let module = Btf::parse_split(module.build(), base)?;
//!
//! assert_eq!(module.first_type_id().0, 3);
//! assert_eq!(module.find_by_name_kind("my_inode", Kind::Struct), Some(inode));
//! assert_eq!(module.find_by_name_kind("task", Kind::Struct).map(|id| id.0), Some(2));
//! assert_eq!(module.resolved_size(inode)?, 8);
//! # Ok::<(), core_reloc::btf::BtfError>(())
//! ```

#[cfg(feature = "builder")]
mod builder;
mod error;
mod header;
mod index;
mod kind;
mod source;
pub(crate) mod strings;
mod types;

use std::sync::atomic::{AtomicU32, Ordering as AtomicOrdering};
use std::sync::{Arc, OnceLock};

pub use crate::bytes::Endianness;
#[cfg(feature = "builder")]
pub use builder::{BtfBuilder, MemberSpec};
pub use error::BtfError;
pub use header::{BTF_MAGIC, Header};
pub use kind::{Kind, KindLayout, MAX_KIND};
pub use source::{BtfBytes, LoadInfo, LoadMethod};
pub use types::{
    ArrayInfo, DatasecEntries, DatasecEntry, Elements, EnumValue, EnumValues, IntEncoding, IntInfo,
    Linkage, Member, Members, Param, Params, Type, TypeId,
};

use crate::bytes::read_u32;
use header::layout_entry;
use index::{Strides, index_types, record_len};
use types::KIND_MASK;

/// Longest chain of typedefs, modifiers and array element types followed before giving up.
/// Real kernels need a handful; the limit only exists so that a cycle cannot loop forever.
pub const MAX_RESOLVE_DEPTH: u32 = 32;

/// Size of a pointer in bytes. BPF is a 64-bit target and CO-RE targets 64-bit kernels, so
/// this reader does not try to infer it from the data.
pub const POINTER_SIZE: u32 = 8;

/// Name lookups answered by scanning the types before the name index is built. On vmlinux a
/// scan costs about a tenth of building the index, so a caller with a handful of lookups
/// (parse, then look up a few names) never pays for it.
const SCANS_BEFORE_INDEX: u32 = 8;

/// Types a scanning name lookup compares by name before it searches the string section.
const DIRECT_SCAN_TYPES: u32 = 1024;

/// Number of distinct kind numbers (the kind field is 7 bits wide).
pub(crate) const KIND_SLOTS: usize = MAX_KIND as usize + 1;

/// Parsed BTF: a base BTF, or a split BTF on top of a base.
///
/// See the [module documentation](self) for an overview. `Btf` is `Send + Sync`; a split BTF
/// holds its base in an [`Arc`], so many modules can share one vmlinux without self-references.
pub struct Btf<'a> {
    bytes: BtfBytes<'a>,
    header: Header,
    /// Offset in the type section of each own type's record; index 0 is `first_type_id`.
    type_offsets: Vec<u32>,
    /// `(info_sz, elem_sz)` per kind number; `None` for kinds that cannot be skipped.
    strides: Strides,
    base: Option<Arc<Btf<'a>>>,
    first_type_id: u32,
    strings_start: u32,
    load_info: LoadInfo,
    /// Hash table of named own types (see `name_index`); built after
    /// [`SCANS_BEFORE_INDEX`] lookups have scanned.
    name_index: OnceLock<Vec<u32>>,
    /// Name lookups that scanned so far.
    scans: AtomicU32,
}

impl std::fmt::Debug for Btf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btf")
            .field("header", &self.header)
            .field("first_type_id", &self.first_type_id)
            .field("own_types", &self.type_offsets.len())
            .field("strings_start", &self.strings_start)
            .field("is_split", &self.base.is_some())
            .field("load_info", &self.load_info)
            .finish_non_exhaustive()
    }
}

impl<'a> Btf<'a> {
    /// Parses base BTF (type ids start at 1, string offsets at 0).
    ///
    /// Accepts `&[u8]`, `Vec<u8>`, `Arc<[u8]>` or a [`memmap2::Mmap`] (anything convertible to
    /// [`BtfBytes`]). Checks the header and walks the type headers once.
    ///
    /// ```
    /// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding};
    /// let mut b = BtfBuilder::new();
    /// b.add_int("int", 4, IntEncoding::SIGNED);
    /// let bytes = b.build();
    /// let btf = Btf::parse(&bytes[..])?; // borrowed, no copy
    /// assert_eq!(btf.type_count(), 2); // void + int
    /// # Ok::<(), core_reloc::btf::BtfError>(())
    /// ```
    pub fn parse(bytes: impl Into<BtfBytes<'a>>) -> Result<Btf<'a>, BtfError> {
        Btf::parse_with(bytes.into(), None, None)
    }

    /// Parses split BTF on `base`: type ids continue at `base.type_count()` and string offsets
    /// at `base.strings_end()`. The base may itself be split.
    pub fn parse_split(
        bytes: impl Into<BtfBytes<'a>>,
        base: Arc<Btf<'a>>,
    ) -> Result<Btf<'a>, BtfError> {
        Btf::parse_with(bytes.into(), Some(base), None)
    }

    pub(crate) fn parse_with(
        bytes: BtfBytes<'a>,
        base: Option<Arc<Btf<'a>>>,
        load_info: Option<LoadInfo>,
    ) -> Result<Btf<'a>, BtfError> {
        let header = Header::parse(&bytes)?;
        if let Some(base) = &base
            && base.endian() != header.endian
        {
            return Err(BtfError::EndianMismatch);
        }
        strings::check_section(&bytes[header.str_range()], base.is_some())?;
        let strides = kind_strides(&header, &bytes)?;
        let (first_type_id, strings_start) = match &base {
            Some(base) => (base.type_count(), base.strings_end()),
            None => (1, 0),
        };
        strings_start
            .checked_add(header.str_len)
            .ok_or(BtfError::BadStringSection {
                reason: "string offsets overflow 32 bits",
            })?;
        let type_offsets = index_types(
            header.endian,
            &bytes[header.type_range()],
            &strides,
            first_type_id,
        )?;
        let load_info = load_info.unwrap_or(LoadInfo {
            method: LoadMethod::InMemory,
            bytes: bytes.len(),
        });
        Ok(Btf {
            bytes,
            header,
            type_offsets,
            strides,
            base,
            first_type_id,
            strings_start,
            load_info,
            name_index: OnceLock::new(),
            scans: AtomicU32::new(0),
        })
    }

    /// The decoded header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Byte order of the data.
    pub fn endian(&self) -> Endianness {
        self.header.endian
    }

    /// All bytes, header included.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How the bytes were obtained and how many there are.
    pub fn load_info(&self) -> LoadInfo {
        self.load_info
    }

    /// The base of a split BTF.
    pub fn base(&self) -> Option<&Arc<Btf<'a>>> {
        self.base.as_ref()
    }

    /// Whether this is split BTF.
    pub fn is_split(&self) -> bool {
        self.base.is_some()
    }

    /// The id of this BTF's first own type: 1 for base BTF, the base's
    /// [`type_count`](Btf::type_count) for split BTF.
    pub fn first_type_id(&self) -> TypeId {
        TypeId(self.first_type_id)
    }

    /// Number of type ids valid in this BTF: void, the base's types and this BTF's own types.
    /// Valid ids are `0..type_count()`.
    pub fn type_count(&self) -> u32 {
        // Cannot overflow: index_types refuses more ids than fit.
        self.first_type_id + self.type_offsets.len() as u32
    }

    /// Number of types in this BTF itself (not counting void or the base).
    pub fn own_type_count(&self) -> usize {
        self.type_offsets.len()
    }

    /// The first string offset belonging to this BTF's own string section.
    pub fn strings_start(&self) -> u32 {
        self.strings_start
    }

    /// One past the last string offset valid in this BTF (base included); a split BTF's string
    /// offsets start here.
    pub fn strings_end(&self) -> u32 {
        self.strings_start + self.header.str_len
    }

    fn own_strings(&self) -> &[u8] {
        &self.bytes[self.header.str_range()]
    }

    fn own_type_section(&self) -> &[u8] {
        &self.bytes[self.header.type_range()]
    }

    /// The string at `offset` as bytes (without the NUL); offsets below
    /// [`strings_start`](Btf::strings_start) resolve into the base.
    pub fn str_bytes_at(&self, offset: u32) -> Result<&[u8], BtfError> {
        if offset < self.strings_start {
            return match &self.base {
                Some(base) => base.str_bytes_at(offset),
                None => Err(BtfError::StringOutOfBounds {
                    offset,
                    end: self.strings_end(),
                }),
            };
        }
        let local = (offset - self.strings_start) as usize;
        let section = self.own_strings();
        if local >= section.len() {
            // Offset 0 is the empty name even when a base has no strings at all.
            if offset == 0 && self.base.is_none() {
                return Ok(&[]);
            }
            return Err(BtfError::StringOutOfBounds {
                offset,
                end: self.strings_end(),
            });
        }
        strings::bytes_at(section, local, offset)
    }

    /// The string at `offset`; offsets below [`strings_start`](Btf::strings_start) resolve into
    /// the base. Offset 0 is the empty string.
    pub fn str_at(&self, offset: u32) -> Result<&str, BtfError> {
        std::str::from_utf8(self.str_bytes_at(offset)?)
            .map_err(|_| BtfError::InvalidUtf8 { offset })
    }

    /// The name of `ty` (empty for anonymous types). `ty` must come from this BTF or its base.
    pub fn name(&self, ty: &Type<'_>) -> Result<&str, BtfError> {
        self.str_at(ty.name_offset())
    }

    /// The name of type `id`.
    pub fn type_name(&self, id: TypeId) -> Result<&str, BtfError> {
        let offset = self.type_by_id(id)?.name_offset();
        self.str_at(offset)
    }

    /// Whether this BTF's own string section (not the base's) contains `name` as a complete
    /// string (never for the empty name). A SIMD substring search with no index: a cheap probe
    /// for "might this module define a type called `name`".
    pub fn own_strings_contain(&self, name: &str) -> bool {
        strings::StringFinder::new(name).is_some_and(|finder| finder.is_in(self.own_strings()))
    }

    /// Whether some offset into this BTF's own string section reads as `name`: a complete
    /// string, or the tail of a longer one (a name offset may point into a string). A split
    /// BTF names a type by its base's string when the base has that string, so a module type
    /// whose name is in vmlinux's strings leaves no trace in the module's own strings.
    pub(crate) fn own_strings_may_name(&self, name: &str) -> bool {
        !name.is_empty()
            && !name.contains('\0')
            && !strings::offsets_of(self.own_strings(), name.as_bytes()).is_empty()
    }

    /// The type with id `id`; ids below [`first_type_id`](Btf::first_type_id) resolve into the
    /// base, id 0 is void ([`Kind::Void`]).
    pub fn type_by_id(&self, id: TypeId) -> Result<Type<'_>, BtfError> {
        if id.0 == 0 {
            return Ok(Type::void(self.endian()));
        }
        if id.0 < self.first_type_id
            && let Some(base) = &self.base
        {
            return base.type_by_id(id);
        }
        id.0.checked_sub(self.first_type_id)
            .and_then(|index| self.own_type(index as usize))
            .ok_or(BtfError::TypeIdOutOfRange {
                id,
                count: self.type_count(),
            })
    }

    /// This BTF's own type number `index` (0-based), from a record parsing already checked.
    fn own_type(&self, index: usize) -> Option<Type<'_>> {
        let offset = *self.type_offsets.get(index)? as usize;
        let section = self.own_type_section();
        let info = read_u32(self.endian(), section, offset + 4)?;
        let kind_raw = ((info >> 24) & KIND_MASK) as u8;
        let (info_size, elem_size) = self.strides[usize::from(kind_raw)]?;
        let len = record_len(info, info_size, elem_size);
        let record = section.get(offset..offset.checked_add(len)?)?;
        let id = TypeId(self.first_type_id + index as u32);
        Some(Type::new(
            id,
            Kind::from_raw(kind_raw),
            self.endian(),
            record,
            info_size,
            elem_size,
        ))
    }

    /// This BTF's own types (not the base's, not void), in id order.
    ///
    /// ```
    /// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, Kind};
    /// let mut b = BtfBuilder::new();
    /// let int = b.add_int("int", 4, IntEncoding::SIGNED);
    /// b.add_ptr(int);
    /// let btf = Btf::parse(b.build())?;
    /// let kinds: Vec<Kind> = btf.types().map(|t| t.kind()).collect();
    /// assert_eq!(kinds, [Kind::Int, Kind::Ptr]);
    /// # Ok::<(), core_reloc::btf::BtfError>(())
    /// ```
    pub fn types(&self) -> impl ExactSizeIterator<Item = Type<'_>> + DoubleEndedIterator + '_ {
        // own_type cannot fail for an index parsing produced; void stands in just in case.
        (0..self.type_offsets.len()).map(move |index| {
            self.own_type(index)
                .unwrap_or_else(|| Type::void(self.endian()))
        })
    }

    /// Ids of all types named `name`, in this BTF and its bases, in ascending id order.
    /// The first calls scan the types; after a few, one call builds a name index (a hash table
    /// of `u32`, 1.33 to 2.67 slots per named type, per BTF in the chain) that later calls
    /// probe.
    pub fn types_by_name<'s>(&'s self, name: &'s str) -> Box<dyn Iterator<Item = TypeId> + 's> {
        let own = self.own_types_by_name(name.as_bytes());
        match &self.base {
            Some(base) => Box::new(base.types_by_name(name).chain(own)),
            None => Box::new(own),
        }
    }

    /// The first (lowest id) type named `name`, in this BTF or its bases.
    pub fn find_by_name(&self, name: &str) -> Option<TypeId> {
        self.types_by_name(name).next()
    }

    /// The first (lowest id) type named `name` of kind `kind`.
    ///
    /// ```
    /// use core_reloc::btf::{Btf, BtfBuilder, Kind};
    /// let mut b = BtfBuilder::new();
    /// let fwd = b.add_fwd("file", false);
    /// let file = b.add_struct("file", 0, &[]);
    /// let btf = Btf::parse(b.build())?;
    /// assert_eq!(btf.find_by_name("file"), Some(fwd));
    /// assert_eq!(btf.find_by_name_kind("file", Kind::Struct), Some(file));
    /// assert_eq!(btf.find_by_name_kind("file", Kind::Union), None);
    /// # Ok::<(), core_reloc::btf::BtfError>(())
    /// ```
    pub fn find_by_name_kind(&self, name: &str, kind: Kind) -> Option<TypeId> {
        self.types_by_name(name)
            .find(|&id| self.type_by_id(id).is_ok_and(|ty| ty.kind() == kind))
    }

    fn own_types_by_name<'s>(&'s self, name: &'s [u8]) -> Box<dyn Iterator<Item = TypeId> + 's> {
        // The first lookups scan: one pass comparing names in place is much cheaper than
        // building the index. Later lookups build it once and probe it.
        let slots = match self.name_index.get() {
            Some(slots) => slots,
            None if self.scans.fetch_add(1, AtomicOrdering::Relaxed) < SCANS_BEFORE_INDEX => {
                return self.scan_by_name(name);
            }
            None => self.name_index(),
        };
        if slots.is_empty() {
            return Box::new(std::iter::empty());
        }
        // Linear probing from the name's slot to the first empty one. Types of one name were
        // inserted in id order along this same sequence, so they come out in id order.
        let mask = slots.len() - 1;
        let start = name_hash(name.iter().copied()) as usize & mask;
        Box::new(
            (0..slots.len())
                .map(move |step| slots[(start + step) & mask])
                .take_while(|&slot| slot != 0)
                .map(|slot| slot - 1)
                .filter(move |&i| name_matches(self.name_tail(i), name))
                .map(move |i| TypeId(self.first_type_id + i)),
        )
    }

    /// Own types named `name`, by a scan in id order. A base BTF's types can only be named
    /// by its own strings, so the scan first finds the offsets where the name can be read there
    /// (a SIMD substring search, ~40 us on vmlinux): a name no string has costs nothing more,
    /// and the others compare name offsets instead of names. A split BTF's types may also be named by base
    /// strings; they compare names (their sections are small).
    fn scan_by_name<'s>(&'s self, name: &'s [u8]) -> Box<dyn Iterator<Item = TypeId> + 's> {
        let all = 0..self.type_offsets.len() as u32;
        let to_id = move |i| TypeId(self.first_type_id + i);
        if self.base.is_some() {
            return Box::new(
                all.filter(move |&i| name_matches(self.name_tail(i), name))
                    .map(to_id),
            );
        }
        if name.is_empty() || name.contains(&0) {
            return Box::new(std::iter::empty());
        }
        // The first types compare names in place (often the hit is among them: task_struct
        // is 112th of vmlinux's 112k), the rest only once the substring search found offsets.
        let count = self.type_offsets.len() as u32;
        let direct = count.min(DIRECT_SCAN_TYPES);
        let head = (0..direct).filter(move |&i| name_matches(self.name_tail(i), name));
        let rest = std::iter::once(()).flat_map(move |()| {
            // Usually one offset; a short name may also end a few longer strings.
            let offsets = strings::offsets_of(self.own_strings(), name);
            let end = if offsets.is_empty() { direct } else { count };
            let (endian, section) = (self.endian(), self.own_type_section());
            (direct..end).filter(move |&i| {
                let at = self.type_offsets[i as usize] as usize;
                read_u32(endian, section, at).is_some_and(|off| offsets.binary_search(&off).is_ok())
            })
        });
        Box::new(head.chain(rest).map(to_id))
    }

    /// The string section from own type `index`'s name to the end of the section that holds
    /// it (NUL included), so names compare without first being measured. Unreadable names
    /// give an empty tail, which compares as the empty name and is never found.
    fn name_tail(&self, index: u32) -> &[u8] {
        let name_offset = self
            .type_offsets
            .get(index as usize)
            .and_then(|&at| read_u32(self.endian(), self.own_type_section(), at as usize));
        name_offset.map_or(&[], |offset| self.str_tail(offset))
    }

    fn str_tail(&self, offset: u32) -> &[u8] {
        if offset < self.strings_start {
            return self.base.as_ref().map_or(&[], |base| base.str_tail(offset));
        }
        let local = (offset - self.strings_start) as usize;
        self.own_strings().get(local..).unwrap_or(&[])
    }

    /// An open-addressing hash table of named own types: slot value `index + 1`, 0 empty.
    fn name_index(&self) -> &[u32] {
        self.name_index.get_or_init(|| {
            let named = (0..self.type_offsets.len() as u32)
                .filter(|&i| self.name_tail(i).first().is_some_and(|&b| b != 0))
                .count();
            if named == 0 {
                return Vec::new();
            }
            // At most 3/4 full, so probe sequences stay short.
            let slot_count = (named + named / 3 + 1).next_power_of_two();
            let mask = slot_count - 1;
            let mut slots = vec![0u32; slot_count];
            for i in 0..self.type_offsets.len() as u32 {
                let tail = self.name_tail(i);
                if tail.first().is_none_or(|&b| b == 0) {
                    continue;
                }
                let name = tail.iter().copied().take_while(|&b| b != 0);
                let mut slot = name_hash(name) as usize & mask;
                while slots[slot] != 0 {
                    slot = (slot + 1) & mask;
                }
                slots[slot] = i + 1;
            }
            slots
        })
    }

    /// Follows const, volatile, restrict and type tags from `id` to the first other type.
    pub fn skip_mods(&self, id: TypeId) -> Result<TypeId, BtfError> {
        self.skip_chain(id, false)
    }

    /// Follows modifiers and typedefs from `id` to the first other type.
    ///
    /// ```
    /// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding};
    /// let mut b = BtfBuilder::new();
    /// let int = b.add_int("int", 4, IntEncoding::SIGNED);
    /// let konst = b.add_const(int);
    /// let td = b.add_typedef("pid_t", konst);
    /// let btf = Btf::parse(b.build())?;
    /// assert_eq!(btf.skip_mods_and_typedefs(td)?, int);
    /// assert_eq!(btf.skip_mods(td)?, td);
    /// # Ok::<(), core_reloc::btf::BtfError>(())
    /// ```
    pub fn skip_mods_and_typedefs(&self, id: TypeId) -> Result<TypeId, BtfError> {
        self.skip_chain(id, true)
    }

    fn skip_chain(&self, start: TypeId, typedefs: bool) -> Result<TypeId, BtfError> {
        let mut id = start;
        for _ in 0..=MAX_RESOLVE_DEPTH {
            let ty = self.type_by_id(id)?;
            let kind = ty.kind();
            if kind.is_modifier() || (typedefs && kind == Kind::Typedef) {
                id = TypeId(ty.size_or_type());
            } else {
                return Ok(id);
            }
        }
        Err(BtfError::DepthLimit {
            id: start,
            limit: MAX_RESOLVE_DEPTH,
        })
    }

    /// The size in bytes of type `id`: ints, floats, enums, structs, unions and datasecs by
    /// their size field, pointers as [`POINTER_SIZE`], arrays as element count times element
    /// size, and typedefs, modifiers and vars by what they refer to. Void, functions, forward
    /// declarations and decl tags have no size.
    ///
    /// ```
    /// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding};
    /// let mut b = BtfBuilder::new();
    /// let int = b.add_int("int", 4, IntEncoding::SIGNED);
    /// let arr = b.add_array(int, int, 10);
    /// let td = b.add_typedef("ten_ints", arr);
    /// let btf = Btf::parse(b.build())?;
    /// assert_eq!(btf.resolved_size(td)?, 40);
    /// # Ok::<(), core_reloc::btf::BtfError>(())
    /// ```
    pub fn resolved_size(&self, start: TypeId) -> Result<u32, BtfError> {
        let mut id = start;
        let mut count: u64 = 1;
        for _ in 0..=MAX_RESOLVE_DEPTH {
            let ty = self.type_by_id(id)?;
            let size = match ty.kind() {
                Kind::Int
                | Kind::Float
                | Kind::Enum
                | Kind::Enum64
                | Kind::Struct
                | Kind::Union
                | Kind::Datasec => ty.size_or_type(),
                Kind::Ptr => POINTER_SIZE,
                Kind::Typedef
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::TypeTag
                | Kind::Var => {
                    id = TypeId(ty.size_or_type());
                    continue;
                }
                Kind::Array => {
                    let array = ty.array().unwrap_or(ArrayInfo {
                        elem_type: TypeId::VOID,
                        index_type: TypeId::VOID,
                        nelems: 0,
                    });
                    count = count.saturating_mul(u64::from(array.nelems));
                    id = array.elem_type;
                    continue;
                }
                kind => return Err(BtfError::NotSized { id, kind }),
            };
            let total = count.saturating_mul(u64::from(size));
            return u32::try_from(total).map_err(|_| BtfError::SizeOverflow { id: start });
        }
        Err(BtfError::DepthLimit {
            id: start,
            limit: MAX_RESOLVE_DEPTH,
        })
    }

    /// Parses split BTF that [`BtfBytes::load`] read or mapped, keeping how it was loaded in
    /// [`Btf::load_info`] (for callers that load first, e.g. to account bytes even when the
    /// parse fails).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use core_reloc::btf::{Btf, BtfBuilder, BtfBytes, IntEncoding, LoadMethod};
    /// let mut base = BtfBuilder::new();
    /// base.add_int("int", 4, IntEncoding::SIGNED);
    /// let base = Arc::new(Btf::parse(base.build())?);
    /// let mut split = BtfBuilder::new_split(&base);
    /// split.add_int("long", 8, IntEncoding::SIGNED);
    /// let path = std::env::temp_dir().join(format!("split-{}.btf", std::process::id()));
    /// std::fs::write(&path, split.build()).unwrap();
    /// let btf = Btf::parse_split_loaded(BtfBytes::load(&path)?, base)?;
    /// assert_ne!(btf.load_info().method, LoadMethod::InMemory);
    /// std::fs::remove_file(&path).unwrap();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse_split_loaded(
        (bytes, info): (BtfBytes<'a>, LoadInfo),
        base: Arc<Btf<'a>>,
    ) -> Result<Btf<'a>, BtfError> {
        Btf::parse_with(bytes, Some(base), Some(info))
    }
}

/// Record layout of every kind number: the known layout for known kinds, the layout section's
/// for the others. A layout section may describe a known kind as larger (a newer format that
/// appended fields), never as smaller.
fn kind_strides(header: &Header, bytes: &[u8]) -> Result<Strides, BtfError> {
    let layout = header.layout_range().map(|range| &bytes[range]);
    let mut strides = [None; KIND_SLOTS];
    // Kind 0 (BTF_KIND_UNKN) never has a record.
    for (raw, stride) in strides.iter_mut().enumerate().skip(1) {
        let kind = Kind::from_raw(raw as u8);
        let described = layout.and_then(|layout| layout_entry(header.endian, layout, raw as u8));
        *stride = match (kind.known_layout(), described) {
            (Some(known), Some(entry)) => {
                if entry.info_size < known.info_size || entry.elem_size < known.elem_size {
                    return Err(BtfError::LayoutMismatch {
                        kind,
                        info_size: entry.info_size,
                        elem_size: entry.elem_size,
                        expected_info_size: known.info_size,
                        expected_elem_size: known.elem_size,
                    });
                }
                Some((entry.info_size, entry.elem_size))
            }
            (Some(known), None) => Some((known.info_size, known.elem_size)),
            (None, Some(entry)) => Some((entry.info_size, entry.elem_size)),
            (None, None) => None,
        };
    }
    Ok(strides)
}

/// Whether the NUL-terminated string starting `tail` is `name`.
fn name_matches(tail: &[u8], name: &[u8]) -> bool {
    // The first byte rejects almost every type without a call to memcmp.
    tail.first() == name.first() && tail.get(name.len()) == Some(&0) && &tail[..name.len()] == name
}

/// FNV-1a: short names, no allocation, and the same value for a name and its tail.
fn name_hash(bytes: impl Iterator<Item = u8>) -> u32 {
    bytes.fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

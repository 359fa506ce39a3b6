//! Generates `include/kernels.f90`, the Fortran module `kernels`, from the C header.
//!
//! The header is cbindgen's output, so its shapes are few and regular: `#define`
//! constants, `typedef struct` with scalar, pointer and fixed-array fields, the
//! `typedef` aliases `kn_status`, `kn_f16` and `kn_bf16`, and function prototypes. Anything else is a panic that
//! names the line, so a change of the C interface that this mapping does not cover
//! fails the test instead of producing a wrong interface.
//!
//! The mapping (ISO_C_BINDING):
//! - every `#define` is an `integer(c_int32_t), parameter`;
//! - every struct is a `bind(C)` derived type with the same fields (pointers as
//!   `type(c_ptr)`, fixed arrays with the same extent);
//! - every function is a `bind(C)` interface with the C name. Scalars go by `value`.
//!   A host pointer to numbers is an assumed-size array (`intent(in)` when `const`),
//!   except the single-value outputs in [`SCALAR_OUTPUTS`]; `void *` workspaces are
//!   assumed-type arrays (`type(*)`, any array the caller has); struct pointers are the
//!   derived type by reference. Every such argument is `optional`: an absent one is
//!   passed as NULL, which the library answers with `KN_ERR_NULL` where it needs one.
//!   The `kn_cuda_*` functions take device memory, so their array and workspace
//!   pointers (and every `stream`) are `type(c_ptr), value`.

use std::fmt::Write;

/// Pointer parameters that receive one value, not an array.
const SCALAR_OUTPUTS: &[&str] = &["bytes", "omega", "faults", "opt_faults"];

/// The module's opening comment: what a Fortran user must know beyond the C docs.
const PREAMBLE: &str = "\
! kernels.f90: the Fortran interface of the kernels library, module `kernels`.
!
! Generated from include/kernels.h by kernels-ffi/tests/fortran_module; do not edit.
! Regenerate with: KN_BLESS=1 cargo test -p kernels-ffi --test header
!
! ISO_C_BINDING interfaces to every C function of kernels.h, with the same names,
! arguments and documentation (the comments are the header's, in C terms), the
! status codes and other constants as parameters, and the option, report and handle
! structs as bind(C) derived types. The module has no procedures of its own: compiling
! it produces only kernels.mod; link with libkernels (pkg-config --libs kernels).
!
! Fortran notes:
! - Sizes are integer(c_size_t) and go by value: pass int(n, c_size_t). uint32_t and
!   uint64_t arguments and fields are integer(c_int32_t) / integer(c_int64_t).
! - kn_f16 and kn_bf16 (half-precision bit patterns) are integer(c_int16_t): pass the
!   bits, e.g. from TRANSFER of the upper half of a real(c_float) for bf16.
! - Arrays are assumed-size: pass the first element's array (row-major in C terms, so
!   a C matrix [n][m] is a Fortran array (m, n)). An array argument may be omitted
!   where the C function accepts NULL.
! - Workspaces (`void *work`) accept any contiguous array, for example
!   integer(c_int8_t), allocatable :: work(:) with the size the *_work_bytes function
!   reports.
! - kn_csr_init_* and kn_h2o_cache_init keep the addresses of the arrays they are
!   given: those arrays must be contiguous, have the TARGET attribute and outlive the
!   handle.
! - kn_status_str returns a C string (type(c_ptr)); c_f_pointer turns it into a
!   character array.
";

/// A C type as it appears in a field or parameter, without its name.
#[derive(Debug)]
struct CType {
    is_const: bool,
    base: String,
    pointer: bool,
}

/// One `name` with its type and, for fields, a fixed extent.
#[derive(Debug)]
struct Decl {
    ty: CType,
    name: String,
    extent: Option<String>,
}

/// Fortran text, in the order it is emitted: constants, types, interfaces.
#[derive(Default)]
struct Module {
    constants: String,
    types: String,
    interfaces: String,
    functions: usize,
}

/// The `integer`/`real` kind of a C scalar type, or `None` for a struct or `void`.
fn fortran_scalar(base: &str) -> Option<&'static str> {
    Some(match base {
        "size_t" => "integer(c_size_t)",
        "int32_t" | "uint32_t" | "kn_status" => "integer(c_int32_t)",
        "int64_t" | "uint64_t" => "integer(c_int64_t)",
        "uint16_t" | "int16_t" | "kn_f16" | "kn_bf16" => "integer(c_int16_t)",
        "uint8_t" | "int8_t" => "integer(c_int8_t)",
        "bool" => "logical(c_bool)",
        "float" => "real(c_float)",
        "double" => "real(c_double)",
        _ => return None,
    })
}

fn parse_type(text: &str, line: &str) -> CType {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let is_const = words.first() == Some(&"const");
    if is_const {
        words.remove(0);
    }
    if words.first() == Some(&"struct") {
        words.remove(0);
    }
    let pointer = words.last() == Some(&"*");
    if pointer {
        words.pop();
    }
    assert!(
        words.len() == 1,
        "kernels.h: cannot read the type '{text}' in: {line}"
    );
    CType {
        is_const,
        base: words[0].to_string(),
        pointer,
    }
}

/// `const struct kn_cg_opts *opts`, `uint64_t opaque[KN_CSR_WORDS]`, `float *k`.
fn parse_decl(text: &str, line: &str) -> Decl {
    let text = text.trim();
    let (text, extent) = match text.strip_suffix(']') {
        Some(rest) => {
            let (head, extent) = rest.split_once('[').expect("an unbalanced '['");
            (head.trim(), Some(extent.trim().to_string()))
        }
        None => (text, None),
    };
    let split = text
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or_else(|| panic!("kernels.h: no type in '{text}' in: {line}"));
    let (ty, name) = text.split_at(split + 1);
    let ty = ty.replace('*', " * ");
    Decl {
        ty: parse_type(&ty, line),
        name: name.to_string(),
        extent,
    }
}

/// Evaluates the values cbindgen writes for constants: integers and `(a << b)`.
fn constant_value(value: &str, line: &str) -> i64 {
    let value = value.trim();
    if let Some(inner) = value.strip_prefix('(').and_then(|v| v.strip_suffix(')')) {
        let (a, b) = inner
            .split_once("<<")
            .unwrap_or_else(|| panic!("kernels.h: cannot evaluate: {line}"));
        return constant_value(a, line) << constant_value(b, line);
    }
    value
        .parse()
        .unwrap_or_else(|_| panic!("kernels.h: cannot evaluate: {line}"))
}

/// A floating-point constant (cbindgen writes it with a decimal point).
fn real_constant(value: &str) -> Option<f64> {
    let value = value.trim();
    value.contains('.').then(|| value.parse().ok()).flatten()
}

fn comment(out: &mut String, indent: &str, doc: &[String]) {
    for d in doc {
        if d.is_empty() {
            writeln!(out, "{indent}!").unwrap();
        } else {
            writeln!(out, "{indent}! {d}").unwrap();
        }
    }
}

fn field(out: &mut String, decl: &Decl, line: &str) {
    let ty = if decl.ty.pointer {
        "type(c_ptr)".to_string()
    } else if let Some(s) = fortran_scalar(&decl.ty.base) {
        s.to_string()
    } else {
        panic!("kernels.h: no Fortran field type for: {line}")
    };
    match &decl.extent {
        Some(extent) => writeln!(out, "    {ty} :: {}({extent})", decl.name),
        None => writeln!(out, "    {ty} :: {}", decl.name),
    }
    .unwrap();
}

/// One dummy argument's declaration.
fn argument(decl: &Decl, device: bool, line: &str) -> String {
    let ty = &decl.ty;
    let name = &decl.name;
    let scalar = fortran_scalar(&ty.base);
    if !ty.pointer {
        let s = scalar.unwrap_or_else(|| panic!("kernels.h: a struct by value in: {line}"));
        return format!("{s}, value :: {name}");
    }
    let intent = if ty.is_const { "in" } else { "inout" };
    if ty.base == "void" {
        return if device || name == "stream" {
            format!("type(c_ptr), value :: {name}")
        } else {
            format!("type(*), intent({intent}), optional :: {name}(*)")
        };
    }
    match scalar {
        Some(s) if SCALAR_OUTPUTS.contains(&name.as_str()) => {
            assert!(!ty.is_const, "kernels.h: a const single output in: {line}");
            format!("{s}, intent(out), optional :: {name}")
        }
        Some(_) if device => format!("type(c_ptr), value :: {name}"),
        Some(s) => format!("{s}, intent({intent}), optional :: {name}(*)"),
        None => format!("type({}), intent({intent}), optional :: {name}", ty.base),
    }
}

/// Splits `a, b, c` into continuation lines of at most `width` characters.
fn wrapped(first: &str, items: &[String], last: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut current = first.to_string();
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() {
            format!("{item}, ")
        } else {
            item.clone()
        };
        if current.len() + piece.len() > 88 {
            writeln!(out, "{} &", current.trim_end()).unwrap();
            current = format!("{indent}    {piece}");
        } else {
            current.push_str(&piece);
        }
    }
    current.push_str(last);
    out.push_str(&current);
    out
}

fn function(module: &mut Module, decl_text: &str, doc: &[String]) {
    let open = decl_text.find('(').expect("a prototype has '('");
    let head = parse_decl(&decl_text[..open], decl_text);
    let params_text = decl_text[open + 1..]
        .trim_end()
        .strip_suffix(");")
        .unwrap_or_else(|| panic!("kernels.h: a prototype not ending in ');': {decl_text}"));
    let params: Vec<Decl> = if params_text.trim() == "void" {
        Vec::new()
    } else {
        params_text
            .split(',')
            .map(|p| parse_decl(p, decl_text))
            .collect()
    };
    let mut lower: Vec<String> = params.iter().map(|p| p.name.to_lowercase()).collect();
    lower.sort();
    lower.dedup();
    assert_eq!(
        lower.len(),
        params.len(),
        "kernels.h: parameter names that Fortran (case-blind) cannot tell apart: {decl_text}"
    );
    let name = &head.name;
    let device = name.starts_with("kn_cuda_");
    let ret = &head.ty;
    let result = if ret.pointer {
        assert!(
            ret.base == "char",
            "kernels.h: a pointer result in: {decl_text}"
        );
        "type(c_ptr)".to_string()
    } else if let Some(s) = fortran_scalar(&ret.base) {
        s.to_string()
    } else {
        format!("type({})", ret.base)
    };

    let out = &mut module.interfaces;
    writeln!(out).unwrap();
    comment(out, "    ", doc);
    let names: Vec<String> = params.iter().map(|p| p.name.clone()).collect();
    let first = format!("    function {name}(");
    writeln!(out, "{}", wrapped(&first, &names, ") &", "    ")).unwrap();
    writeln!(out, "        bind(C, name=\"{name}\") result(kn_result)").unwrap();
    writeln!(out, "      import").unwrap();
    for p in &params {
        writeln!(out, "      {}", argument(p, device, decl_text)).unwrap();
    }
    writeln!(out, "      {result} :: kn_result").unwrap();
    writeln!(out, "    end function {name}").unwrap();
    module.functions += 1;
}

/// The Fortran module for the header text `header`.
pub fn generate(header: &str) -> String {
    let mut module = Module::default();
    let mut doc: Vec<String> = Vec::new();
    let mut lines = header.lines().peekable();
    let mut prototypes = 0;
    while let Some(line) = lines.next() {
        let t = line.trim();
        if let Some(d) = t.strip_prefix("//") {
            doc.push(d.strip_prefix(' ').unwrap_or(d).trim_end().to_string());
            continue;
        }
        if t.starts_with("/*") {
            // The header's own opening comment and cbindgen's notice.
            let mut text = t;
            while !text.contains("*/") {
                text = lines.next().expect("kernels.h ends inside a comment");
            }
            doc.clear();
            continue;
        }
        if let Some(def) = t.strip_prefix("#define ") {
            let (name, value) = def.split_once(' ').unwrap_or((def, ""));
            if name != "KERNELS_H" {
                comment(&mut module.constants, "  ", &doc);
                let out = &mut module.constants;
                match real_constant(value) {
                    Some(x) => writeln!(out, "  real(c_double), parameter :: {name} = {x:?}d0"),
                    None => {
                        let value = constant_value(value, line);
                        writeln!(out, "  integer(c_int32_t), parameter :: {name} = {value}")
                    }
                }
                .unwrap();
            }
        } else if let Some(rest) = t.strip_prefix("typedef struct ") {
            let name = rest.trim_end_matches(" {").trim();
            let out = &mut module.types;
            writeln!(out).unwrap();
            comment(out, "  ", &doc);
            writeln!(out, "  type, bind(C) :: {name}").unwrap();
            doc.clear();
            for body in lines.by_ref() {
                let b = body.trim();
                if let Some(d) = b.strip_prefix("//") {
                    doc.push(d.strip_prefix(' ').unwrap_or(d).trim_end().to_string());
                } else if b.starts_with('}') {
                    assert_eq!(b, format!("}} {name};"), "kernels.h: struct end");
                    break;
                } else if !b.is_empty() {
                    comment(out, "    ", &doc);
                    doc.clear();
                    let decl = parse_decl(b.trim_end_matches(';'), body);
                    field(out, &decl, body);
                }
            }
            writeln!(out, "  end type {name}").unwrap();
        } else if let Some(rest) = t.strip_prefix("typedef ") {
            // The scalar aliases: kn_status (integer(c_int32_t)) and the half-precision
            // bit patterns (integer(c_int16_t)), mapped in `fortran_scalar`.
            assert!(
                [
                    "int32_t kn_status;",
                    "uint16_t kn_f16;",
                    "uint16_t kn_bf16;"
                ]
                .contains(&rest),
                "kernels.h: an unknown typedef: {rest}"
            );
        } else if t.contains("kn_") && t.contains('(') && !t.starts_with('#') {
            let mut text = t.to_string();
            while !text.ends_with(");") {
                let next = lines.next().expect("kernels.h ends inside a prototype");
                text.push(' ');
                text.push_str(next.trim());
            }
            prototypes += 1;
            function(&mut module, &text, &doc);
        }
        doc.clear();
    }
    assert_eq!(prototypes, module.functions);
    assert!(module.functions > 0, "kernels.h: no functions found");

    let mut out = String::from(PREAMBLE);
    out.push_str("module kernels\n  use, intrinsic :: iso_c_binding\n  implicit none\n\n");
    out.push_str(&module.constants);
    out.push_str(&module.types);
    out.push_str("\n  interface\n");
    out.push_str(&module.interfaces);
    out.push_str("  end interface\nend module kernels\n");
    out
}

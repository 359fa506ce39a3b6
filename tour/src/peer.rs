//! Running a Python peer (bench/*.py) from the tour: the data it reads, the process,
//! and the one-line JSON objects it prints.

use std::path::{Path, PathBuf};

/// A fresh scratch folder for one peer run, named by `tag` and this process.
pub fn scratch_dir(tag: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("kernels-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("SKIPPED: no scratch folder: {e}"))?;
    Ok(dir)
}

/// Writes `bytes` (values already in little-endian) to `dir/name`.
pub fn write(dir: &Path, name: &str, bytes: impl Iterator<Item = u8>) -> Result<(), String> {
    std::fs::write(dir.join(name), bytes.collect::<Vec<u8>>())
        .map_err(|e| format!("SKIPPED: could not write {name}: {e}"))
}

/// Runs `$KN_PYTHON script args...` with one BLAS thread and returns its standard
/// output, or a SKIPPED note saying why not (`hint` names the command that sets
/// KN_PYTHON up).
pub fn run(script: &str, args: &[String], hint: &str) -> Result<String, String> {
    let python = std::env::var_os("KN_PYTHON")
        .ok_or_else(|| format!("SKIPPED: KN_PYTHON is not set (run {hint})"))?;
    let out = std::process::Command::new(python)
        .arg(script)
        .args(args)
        .env("OMP_NUM_THREADS", "1")
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("MKL_NUM_THREADS", "1")
        .output()
        .map_err(|e| format!("SKIPPED: could not run python: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "SKIPPED: the peer failed: {}",
            err.lines().last().unwrap_or("")
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The value of `"key": value` in a one-line JSON object of numbers and strings
/// (quotes removed), as the peers print them.
pub fn field(line: &str, key: &str) -> Option<String> {
    let at = line.find(&format!("\"{key}\": "))? + key.len() + 4;
    let rest = &line[at..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim().trim_matches('"').to_string())
}

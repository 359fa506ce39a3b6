//! The tour's output: a table per section on the terminal as it runs, and a Markdown
//! report with SVG plots on disk.

use crate::Mode;
use crate::machine::Machine;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One section of the tour: a kernel family (or the primitives).
pub struct Section {
    /// Heading.
    pub title: String,
    /// Markdown paragraph saying what was run and how to read the table.
    pub intro: String,
    /// Column names.
    pub header: Vec<String>,
    /// Table rows, already formatted.
    pub rows: Vec<Vec<String>>,
    /// Plots: file name, SVG text, caption.
    pub plots: Vec<(String, String, String)>,
    /// Whether every check of the section passed.
    pub ok: bool,
}

impl Section {
    /// An empty section that prints its heading now, so progress shows as it runs.
    pub fn start(title: &str, intro: &str, header: &[&str]) -> Section {
        println!("\n== {title} ==");
        let s = Section {
            title: title.to_string(),
            intro: intro.to_string(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            plots: Vec::new(),
            ok: true,
        };
        println!("{}", s.header.join(" | "));
        s
    }

    /// Adds a row and prints it at once.
    pub fn row(&mut self, cells: Vec<String>) {
        println!("{}", cells.join(" | "));
        self.rows.push(cells);
    }

    /// Adds a target's row to a section of `what | measured | goal | status`
    /// columns: reported as met or missed, never failing the section.
    pub fn target(&mut self, what: &str, measured: String, goal: &str, met: bool) {
        let status = format!("target {}", target_status(met));
        self.row(vec![what.into(), measured, goal.into(), status]);
    }
}

/// How a speed or size target came out: "met", or "MISSED" (a missed target is
/// reported, not a failed check: the machine decides it as much as the code).
pub fn target_status(met: bool) -> String {
    if met { "met" } else { "MISSED" }.into()
}

/// The whole report.
pub struct Report {
    text: String,
    plots: Vec<(String, String)>,
}

impl Report {
    /// Starts the report with the machine facts.
    pub fn new(machine: &Machine, mode: Mode) -> Report {
        let mut text = String::new();
        let _ = writeln!(text, "# kernels tour\n");
        let _ = writeln!(
            text,
            "Mode: {}. Every figure below was measured in this run, single thread.\n",
            match mode {
                Mode::Full => "full",
                Mode::Quick => "quick (small sizes: a smoke test, not a benchmark)",
            }
        );
        let _ = writeln!(text, "| machine | |\n| --- | --- |");
        let _ = writeln!(
            text,
            "| CPU | {} ({} threads) |",
            machine.cpu, machine.threads
        );
        let _ = writeln!(text, "| SIMD compiled in | {} |", machine.isa);
        let _ = writeln!(text, "| fused mul_add | {} |", machine.fma);
        let _ = writeln!(
            text,
            "| hot kernels at run time | {} |",
            machine.dispatched.name()
        );
        let _ = writeln!(text, "| copy bandwidth | {:.1} GB/s |", machine.copy_gbs);
        let _ = writeln!(
            text,
            "| triad bandwidth | {:.1} GB/s |\n",
            machine.triad_gbs
        );
        Report {
            text,
            plots: Vec::new(),
        }
    }

    /// Appends a section.
    pub fn add(&mut self, s: Section) {
        let _ = writeln!(self.text, "## {}\n\n{}\n", s.title, s.intro);
        let _ = writeln!(self.text, "| {} |", s.header.join(" | "));
        let _ = writeln!(self.text, "|{}", " --- |".repeat(s.header.len()));
        for row in &s.rows {
            let _ = writeln!(self.text, "| {} |", row.join(" | "));
        }
        let _ = writeln!(
            self.text,
            "\nChecks: {}\n",
            if s.ok { "all passed" } else { "SOME FAILED" }
        );
        for (file, svg, caption) in s.plots {
            let _ = writeln!(self.text, "![{caption}]({file})\n");
            self.plots.push((file, svg));
        }
    }

    /// Writes `report.md` and the plots into `dir`; returns the report's path.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        for (file, svg) in &self.plots {
            std::fs::write(dir.join(file), svg)?;
        }
        let path = dir.join("report.md");
        std::fs::write(&path, &self.text)?;
        Ok(path)
    }
}

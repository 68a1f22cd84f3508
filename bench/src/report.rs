//! The report: one section per benchmark, each a table of medians and ratios with its
//! target, the command that reproduces it and what it measured; written as Markdown.

use std::fmt::Write as _;

/// One benchmark's results.
#[derive(Debug, Clone)]
pub struct Section {
    /// Short name, as given to `--only`.
    pub id: &'static str,
    /// Heading.
    pub title: String,
    /// What was measured and how, in a sentence or two.
    pub method: String,
    /// Column headings.
    pub header: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
    /// Observations: targets met or missed, what the figures mean.
    pub notes: Vec<String>,
    /// Longer material (query plans), after the table.
    pub appendix: Option<String>,
}

impl Section {
    /// An empty section.
    pub fn new(id: &'static str, title: &str, method: &str, header: &[&str]) -> Self {
        Self {
            id,
            title: title.to_owned(),
            method: method.to_owned(),
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
            appendix: None,
        }
    }

    /// Adds a row.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let row: Vec<String> = cells.into_iter().map(Into::into).collect();
        println!("  {}", row.join(" | "));
        self.rows.push(row);
    }

    /// Adds a note.
    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        println!("  note: {note}");
        self.notes.push(note);
    }

    /// The section as Markdown.
    pub fn markdown(&self, command: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "## {}\n", self.title);
        let _ = writeln!(s, "{}\n", self.method);
        let _ = writeln!(s, "Reproduce: `{command} --only {}`\n", self.id);
        let _ = writeln!(s, "| {} |", self.header.join(" | "));
        let _ = writeln!(
            s,
            "|{}",
            self.header.iter().map(|_| "---|").collect::<String>()
        );
        for row in &self.rows {
            let _ = writeln!(s, "| {} |", row.join(" | "));
        }
        s.push('\n');
        for note in &self.notes {
            let _ = writeln!(s, "- {note}");
        }
        if !self.notes.is_empty() {
            s.push('\n');
        }
        if let Some(appendix) = &self.appendix {
            let _ = writeln!(s, "{appendix}\n");
        }
        s
    }
}

/// `met` or `missed` against a target.
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_renders_a_table_with_its_command() {
        let mut s = Section::new("x", "X", "How.", &["case", "median"]);
        s.row(["one", "1 µs"]);
        s.note("fine");
        let md = s.markdown("scripts/bench");
        assert!(md.starts_with("## X\n\nHow.\n\nReproduce: `scripts/bench --only x`"));
        assert!(md.contains("| case | median |\n|---|---|\n| one | 1 µs |\n"));
        assert!(md.contains("- fine\n"));
    }
}

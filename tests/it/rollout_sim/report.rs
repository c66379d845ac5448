//! The verdict of one output under every schedule, as a test failure message.

use std::fmt;

use super::sim::Outcome;

pub struct Report {
    /// What was simulated: "examples/full/topology.kdl (flux)".
    pub title: String,
    /// Structural problems (found without running anything).
    pub problems: Vec<String>,
    pub outcomes: Vec<Outcome>,
}

impl Report {
    pub fn converges(&self) -> bool {
        self.problems.is_empty() && self.outcomes.iter().all(|o| o.converged_at.is_some())
    }

    /// Every line of the report (for assertions on the reason of a failure).
    pub fn lines(&self) -> impl Iterator<Item = &String> {
        self.problems.iter().chain(
            self.outcomes
                .iter()
                .flat_map(|o| o.failures.iter().chain(&o.abandoned).chain(&o.stuck)),
        )
    }

    pub fn mentions(&self, needle: &str) -> bool {
        self.lines().any(|l| l.contains(needle))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.converges() {
            let worst = self
                .outcomes
                .iter()
                .filter_map(|o| o.converged_at)
                .max()
                .unwrap_or(0);
            return writeln!(
                f,
                "{}: converges under all {} schedules (slowest: {worst} steps)",
                self.title,
                self.outcomes.len()
            );
        }
        writeln!(f, "{}: DOES NOT CONVERGE", self.title)?;
        if !self.problems.is_empty() {
            writeln!(f, "  structure (any schedule):")?;
            // Files no unit applies, one line per directory.
            let mut orphans: Vec<(&str, Vec<&str>)> = Vec::new();
            for p in &self.problems {
                match p
                    .strip_suffix(" is applied by no unit")
                    .and_then(|f| f.rsplit_once('/'))
                {
                    Some((dir, file)) => match orphans.iter_mut().find(|(d, _)| *d == dir) {
                        Some((_, files)) => files.push(file),
                        None => orphans.push((dir, vec![file])),
                    },
                    None => writeln!(f, "    - {p}")?,
                }
            }
            for (dir, files) in orphans {
                writeln!(
                    f,
                    "    - {dir}/: {} files applied by no unit: {}",
                    files.len(),
                    files.join(", ")
                )?;
            }
        }
        // Schedules with the same outcome are reported once.
        let mut groups: Vec<(Vec<&str>, &Outcome)> = Vec::new();
        for o in &self.outcomes {
            let same = |g: &&mut (Vec<&str>, &Outcome)| {
                let x = g.1;
                x.converged_at.is_some() == o.converged_at.is_some()
                    && x.failures == o.failures
                    && x.abandoned == o.abandoned
                    && x.stuck == o.stuck
            };
            match groups.iter_mut().find(same) {
                Some(g) => g.0.push(&o.schedule),
                None => groups.push((vec![&o.schedule], o)),
            }
        }
        for (schedules, o) in groups {
            let which = if schedules.len() == self.outcomes.len() {
                "every schedule".to_string()
            } else {
                schedules.join(", ")
            };
            if o.converged_at.is_some() {
                writeln!(f, "  under {which}: converges")?;
                continue;
            }
            writeln!(f, "  under {which}:")?;
            for x in &o.failures {
                writeln!(f, "    PERMANENT FAILURE {x}")?;
            }
            for x in &o.abandoned {
                writeln!(f, "    ABANDONED {x}")?;
            }
            if !o.stuck.is_empty() {
                writeln!(f, "    stuck (deadlock), not ready:")?;
                for x in &o.stuck {
                    writeln!(f, "      - {x}")?;
                }
            }
        }
        Ok(())
    }
}

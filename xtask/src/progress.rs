//! Where a long command is: one short line per finished step with its time, tools' own output
//! kept in log files (shown when they fail), and a summary table at the end.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::Result;

/// One finished step.
struct Step {
    name: String,
    elapsed: Duration,
    /// What came of it, in a few words (`16 passed, 0 failed`, `cached`, ...).
    detail: String,
    ok: bool,
}

/// Every step of this run, in the order they finished. A run is one process, and steps of
/// parallel guests finish on their own threads.
static STEPS: Mutex<Vec<Step>> = Mutex::new(Vec::new());

/// Lines of a failed tool's log shown on the terminal (the whole log stays in its file).
const LOG_TAIL_LINES: usize = 40;

/// Runs a step, then prints its line and records it for the summary.
pub fn step<T>(name: &str, run: impl FnOnce() -> Result<T>) -> Result<T> {
    step_with(name, || run().map(|value| (value, String::new())))
}

/// Like [`step`], with a few words on the outcome for its line and the summary.
pub fn step_with<T>(name: &str, run: impl FnOnce() -> Result<(T, String)>) -> Result<T> {
    let started = Instant::now();
    let result = run();
    let elapsed = started.elapsed();
    match result {
        Ok((value, detail)) => {
            record(name, elapsed, detail, true);
            Ok(value)
        }
        Err(error) => {
            record(name, elapsed, "FAILED".into(), false);
            Err(error)
        }
    }
}

/// Records a step timed elsewhere (e.g. a guest on its own thread) and prints its line.
pub fn record(name: &str, elapsed: Duration, detail: String, ok: bool) {
    eprintln!("{}", line(name, elapsed, &detail));
    STEPS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Step {
            name: name.to_string(),
            elapsed,
            detail,
            ok,
        });
}

fn line(name: &str, elapsed: Duration, detail: &str) -> String {
    let mut line = format!("xtask: {name:<28} {:>7.1} s", elapsed.as_secs_f64());
    if !detail.is_empty() {
        let _ = write!(line, "  {detail}");
    }
    line
}

/// The table of every step so far, and the total; on stdout, after the run.
pub fn print_summary(title: &str, started: Instant) {
    let steps = STEPS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    println!("\n{title}");
    println!("{:<30} {:>9}  {:<6} detail", "step", "time", "result");
    for step in steps.iter() {
        let row = format!(
            "{:<30} {:>7.1} s  {:<6} {}",
            step.name,
            step.elapsed.as_secs_f64(),
            if step.ok { "ok" } else { "FAILED" },
            step.detail
        );
        println!("{}", row.trim_end());
    }
    println!("{:<30} {:>7.1} s", "total", started.elapsed().as_secs_f64());
}

/// Where tools' output goes: `target/xtask-logs/<name>.log`.
pub fn log_path(name: &str) -> PathBuf {
    crate::workspace_root()
        .join("target/xtask-logs")
        .join(format!("{name}.log"))
}

/// Runs a command without echoing it or its output (apt, dpkg, cargo progress), appending both
/// to the log `log`; on failure the error carries the log's last lines and its path.
pub fn quiet(cmd: xshell::Cmd<'_>, log: &str) -> Result<()> {
    let path = log_path(log);
    fs::create_dir_all(path.parent().expect("logs have a directory"))?;
    let shown = cmd.to_string();
    let output = cmd.quiet().ignore_status().output()?;
    let mut text = format!("$ {shown}\n");
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "`{shown}` failed ({}); last lines of {}:\n{}",
        output.status,
        path.display(),
        tail(&text, LOG_TAIL_LINES)
    )
    .into())
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_lines_are_short_and_aligned() {
        let text = line("kernel 6.12", Duration::from_millis(1234), "cached");
        assert_eq!(
            text,
            format!("xtask: {:<28}     1.2 s  cached", "kernel 6.12")
        );
        assert!(!line("fmt", Duration::ZERO, "").ends_with(' '));
    }

    #[test]
    fn a_failed_step_is_recorded_as_failed() {
        let result: Result<()> = step("a step that fails", || Err("no".into()));
        assert!(result.is_err());
        let steps = STEPS.lock().unwrap();
        let recorded = steps
            .iter()
            .find(|s| s.name == "a step that fails")
            .unwrap();
        assert!(!recorded.ok);
    }

    #[test]
    fn quiet_commands_keep_their_output_in_the_log() {
        let sh = xshell::Shell::new().unwrap();
        let log = format!("progress-test-{}", std::process::id());
        quiet(xshell::cmd!(sh, "echo hello-from-the-log"), &log).unwrap();
        let error = quiet(xshell::cmd!(sh, "ls /no/such/directory/here"), &log).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("/no/such/directory/here"), "{message}");
        let text = fs::read_to_string(log_path(&log)).unwrap();
        assert!(text.contains("hello-from-the-log"), "{text}");
        fs::remove_file(log_path(&log)).unwrap();
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}

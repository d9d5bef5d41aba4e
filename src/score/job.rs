//! What one scoring run is asked to do, resolved from the command line or from an earlier run's
//! `manifest.json` (`ekg score --replay`), so that a run can be repeated from its manifest alone:
//! the same input files (checked by hash), load options, configuration and as-of instant.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::ValueEnum;
use serde_json::{json, Value};

use super::config::ScoreConfig;
use crate::cli::{EncodingArg, InputFormat, OnErrorArg, ScoreArgs};
use crate::exit::{coded, DATA, NO_INPUT, USAGE};

pub struct ScoreJob {
    pub input: PathBuf,
    pub out: PathBuf,
    pub config: ScoreConfig,
    /// `--as-of` as given (a replay gives the recorded instant to the microsecond).
    pub as_of: Option<String>,
    pub format: InputFormat,
    pub encoding: EncodingArg,
    pub on_error: OnErrorArg,
    pub memory_limit: Option<String>,
    pub force: bool,
    pub json: bool,
    /// The manifest this job replays.
    pub replay_of: Option<PathBuf>,
    /// The previous night's output folder (`--previous`).
    pub previous: Option<PathBuf>,
}

fn name_of<T: ValueEnum>(value: T) -> String {
    value.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
}

impl ScoreJob {
    pub fn from_args(args: &ScoreArgs) -> Result<ScoreJob> {
        if let Some(manifest) = &args.replay {
            return ScoreJob::replay(manifest, args);
        }
        let (Some(input), Some(out)) = (&args.input, &args.out) else {
            return Err(coded(USAGE, "ekg score needs an INPUT and --out (or --replay MANIFEST)"));
        };
        Ok(ScoreJob {
            input: std::path::absolute(input).unwrap_or_else(|_| input.clone()),
            out: out.clone(),
            config: ScoreConfig::load(args.config.as_deref())?,
            as_of: args.as_of.clone(),
            format: args.format,
            encoding: args.encoding,
            on_error: args.on_error,
            memory_limit: args.memory_limit.clone(),
            force: args.force,
            json: args.json,
            replay_of: None,
            previous: args.previous.as_ref().map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())),
        })
    }

    /// The job recorded in `manifest`, into `--out` if given (else the recorded folder). The input
    /// files must hash as they did: a replay of other data would not reproduce anything.
    fn replay(manifest: &Path, args: &ScoreArgs) -> Result<ScoreJob> {
        let text =
            std::fs::read_to_string(manifest).map_err(|e| coded(NO_INPUT, format!("cannot read manifest {}: {e}", manifest.display())))?;
        let bad = |what: &str| coded(DATA, format!("{}: not an ekg score manifest ({what})", manifest.display()));
        let m: Value = serde_json::from_str(&text).map_err(|_| bad("not JSON"))?;
        let run = m.get("invocation").ok_or_else(|| bad("no invocation"))?;
        let text_of = |key: &str| run.get(key).and_then(Value::as_str).map(str::to_string);
        let input = PathBuf::from(text_of("input").ok_or_else(|| bad("no input"))?);
        let parse = |key: &str| text_of(key).ok_or_else(|| bad(key));
        let format = InputFormat::from_str(&parse("format")?, true).map_err(|_| bad("format"))?;
        let encoding = EncodingArg::from_str(&parse("encoding")?, true).map_err(|_| bad("encoding"))?;
        let on_error = OnErrorArg::from_str(&parse("on_error")?, true).map_err(|_| bad("on_error"))?;
        let config: ScoreConfig = serde_json::from_value(m.get("config").cloned().ok_or_else(|| bad("no config"))?)
            .map_err(|e| coded(DATA, format!("{}: config: {e}", manifest.display())))?;
        config.validate()?;
        let as_of = m.get("as_of").and_then(Value::as_str).map(str::to_string);
        let out = match &args.out {
            Some(out) => out.clone(),
            None => PathBuf::from(text_of("out").ok_or_else(|| bad("no out"))?),
        };
        let recorded = m.pointer("/input/files").and_then(Value::as_array).ok_or_else(|| bad("no input files"))?;
        for file in recorded {
            let (Some(path), Some(hash)) = (file.get("path").and_then(Value::as_str), file.get("xxh3_64").and_then(Value::as_str)) else {
                return Err(bad("input file without path or hash"));
            };
            let now = super::manifest::hash_file(Path::new(path))
                .map_err(|e| coded(NO_INPUT, format!("replay of {}: input {path}: {e:#}", manifest.display())))?;
            if now != hash {
                return Err(coded(
                    DATA,
                    format!("replay of {}: input {path} changed since that run (xxh3 {hash}, now {now})", manifest.display()),
                ));
            }
        }
        Ok(ScoreJob {
            input,
            out,
            config,
            as_of,
            format,
            encoding,
            on_error,
            memory_limit: text_of("memory_limit"),
            force: args.force,
            json: args.json,
            replay_of: Some(manifest.to_path_buf()),
            previous: args.previous.clone().or_else(|| text_of("previous").map(PathBuf::from)),
        })
    }

    /// The manifest's record of this job: enough to run it again.
    pub fn invocation(&self) -> Value {
        let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string();
        json!({
            "argv": std::env::args().collect::<Vec<_>>(),
            "input": absolute(&self.input),
            "out": absolute(&self.out),
            "as_of_given": self.as_of,
            "format": name_of(self.format),
            "encoding": name_of(self.encoding),
            "on_error": name_of(self.on_error),
            "memory_limit": self.memory_limit,
            "replay_of": self.replay_of.as_deref().map(absolute),
            "previous": self.previous.as_deref().map(absolute),
        })
    }
}

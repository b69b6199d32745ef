//! Writes the files the Debian package ships beside the binaries, all
//! generated from the clap definitions in `yes_grpc::cli` so that none can
//! drift from `--help`: man pages (`man/*.1`), bash, zsh and fish completions
//! (`completions/`) and yes-server's environment file (`default/yes-server`,
//! installed as `/etc/default/yes-server`, where the unit reads it).
//!
//! `scripts/package-deb.sh` runs it as
//! `package_assets $CARGO_TARGET_DIR/release/package`, the directory the
//! assets of `[package.metadata.deb]` in Cargo.toml name.

use std::fs;
use std::path::PathBuf;

use clap_complete::Shell;

fn main() -> std::io::Result<()> {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: package_assets OUTDIR");
        std::process::exit(2);
    };
    for dir in ["man", "completions", "default"] {
        fs::create_dir_all(out.join(dir))?;
    }
    for mut command in yes_grpc::cli::commands() {
        let name = command.get_name().to_owned();
        let mut page = Vec::new();
        clap_mangen::Man::new(command.clone()).render(&mut page)?;
        fs::write(out.join("man").join(format!("{name}.1")), page)?;
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            clap_complete::generate_to(shell, &mut command, &name, out.join("completions"))?;
        }
    }
    let server = yes_grpc::cli::server::command();
    fs::write(out.join("default/yes-server"), environment_file(&server))?;
    eprintln!("package_assets: wrote {}", out.display());
    Ok(())
}

/// `/etc/default/yes-server`: every flag's variable, commented out at its
/// default, under the flag's help.
fn environment_file(command: &clap::Command) -> String {
    // Built, clap has filled in what derive leaves implicit (a switch's
    // default of false).
    let mut command = command.clone();
    command.build();
    let mut text = String::from(
        "# The environment of yes-server.service (yes-server(1)).\n\
         #\n\
         # Every yes-server flag has a variable here: set it on a line of its own,\n\
         # VARIABLE=value, without the leading #. Lines left commented keep the\n\
         # default they show. Then: systemctl restart yes-server.\n\
         # Upgrades of the package keep this file as you changed it (it is a\n\
         # conffile); apt purge removes it.\n",
    );
    for arg in command.get_arguments() {
        let (Some(long), Some(env)) = (arg.get_long(), arg.get_env()) else {
            continue;
        };
        let value = arg
            .get_action()
            .takes_values()
            .then(|| arg.get_value_names().and_then(|names| names.first()))
            .flatten();
        text += &match value {
            Some(value) => format!("\n# --{long} {value}\n"),
            None => format!("\n# --{long}\n"),
        };
        let help = arg.get_long_help().or(arg.get_help());
        for line in wrap(&help.map(ToString::to_string).unwrap_or_default(), 76) {
            text += &format!("# {line}\n");
        }
        let default: Vec<_> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy())
            .collect();
        text += &format!("#{}={}\n", env.to_string_lossy(), default.join(","));
    }
    text
}

/// `text`'s paragraphs as lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split("\n\n") {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

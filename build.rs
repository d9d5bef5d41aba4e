//! Records the git revision for `ekg score`'s manifest (absent outside a git checkout).

fn main() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/logs/HEAD");
    let revision = std::process::Command::new("git").args(["rev-parse", "HEAD"]).output().ok().filter(|o| o.status.success());
    if let Some(output) = revision {
        println!("cargo:rustc-env=EKG_GIT_REVISION={}", String::from_utf8_lossy(&output.stdout).trim());
    }
}

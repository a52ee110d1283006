//! Tools xtask runs that a fresh machine may lack (QEMU, gdb): found on
//! the PATH, installed from Debian when xtask runs as root, or named with
//! the command that installs them.

use std::process::Command;

/// `bin` is on the PATH, or Debian's `package` is installed (as root), or
/// the error says how to install it.
pub fn ensure(bin: &str, package: &str) -> Result<(), String> {
    if which(bin) {
        return Ok(());
    }
    let cmd = format!("apt-get update && apt-get install -y {package}");
    if !is_root() {
        return Err(format!("{bin} is not installed; run: sudo sh -c '{cmd}'"));
    }
    eprintln!("xtask: {bin} is missing; installing Debian's {package}");
    let ok = Command::new("sh")
        .args([
            "-c",
            &format!("DEBIAN_FRONTEND=noninteractive {cmd} >/dev/null"),
        ])
        .status()
        .is_ok_and(|s| s.success());
    if ok && which(bin) {
        Ok(())
    } else {
        Err(format!("installing {package} failed; run: {cmd}"))
    }
}

/// Whether `bin` is an executable file in a PATH directory.
pub fn which(bin: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
}

/// Whether xtask runs as root (and so may install packages).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

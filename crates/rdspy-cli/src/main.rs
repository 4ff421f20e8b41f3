//! The `rdspy` command line.

fn main() {
    println!("rdspy");
}

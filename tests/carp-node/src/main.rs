//! `carp-node`: one CARP (or VRRPv3) vhid of the carp_rs engine on a Linux
//! interface, on real packets. See `carp-node --help`.

mod node;

fn main() {
    let args = match node::cli::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    match node::run(args) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("carp-node: {e}");
            std::process::exit(1);
        }
    }
}

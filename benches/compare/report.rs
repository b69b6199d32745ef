//! How it is reported: a table on stdout (median, min–max, ratio to the
//! Java reference), CSV and JSON, and SVG charts.

use std::collections::BTreeMap;
use std::path::Path;

use crate::peers::{Client, Server};
use crate::Setup;

#[derive(Clone)]
pub struct Row {
    pub figure: String,
    pub server: Server,
    pub client: String,
    pub value: f64,
    pub unit: &'static str,
}

/// The records of a figure's CSV file, header left out, as fields.
pub fn csv_records(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .skip(1)
        .filter(|line| !line.is_empty())
        .map(|line| line.split(',').collect())
}

/// Field `index` of a CSV record, parsed.
pub fn field<T: std::str::FromStr>(record: &[&str], index: usize) -> T {
    record[index]
        .parse()
        .unwrap_or_else(|_| panic!("field {index} of {record:?} does not parse"))
}

pub fn median_min_max(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

/// Prints msgs/s and CPU per million messages (median, min–max, ratio to
/// the Java reference) per figure and client, and writes them to `csv_name`.
pub fn print_table(setup: &Setup, rows: &[Row], servers: &[Server], csv_name: &str) {
    let mut csv = String::from("figure,client,server,unit,median,min,max,ratio_to_java\n");
    for (unit, digits) in [("msgs/s", 0), ("CPU s/M msgs", 2)] {
        let mut figures: BTreeMap<(&str, &str), BTreeMap<Server, Vec<f64>>> = BTreeMap::new();
        for row in rows.iter().filter(|r| r.unit == unit) {
            let cell = figures.entry((&row.figure, &row.client)).or_default();
            cell.entry(row.server).or_default().push(row.value);
        }
        print!("{:<18} {:<12} {:<13}", "figure", "client", "unit");
        for server in servers {
            print!(" {:>30}", server.name());
        }
        println!();
        for ((figure, client), mut by_server) in figures {
            let java = median_min_max(by_server.get_mut(&Server::Java).unwrap()).0;
            print!("{figure:<18} {client:<12} {unit:<13}");
            for server in servers {
                let (median, min, max) = median_min_max(by_server.get_mut(server).unwrap());
                let ratio = median / java;
                print!(
                    " {:>30}",
                    format!("{median:.digits$} ({min:.digits$}–{max:.digits$}) {ratio:.2}x")
                );
                csv.push_str(&format!(
                    "{figure:?},{client},{},{unit},{median},{min},{max},{ratio}\n",
                    server.name()
                ));
            }
            println!();
        }
        println!();
    }
    std::fs::write(setup.out.join(csv_name), csv).unwrap();
    eprintln!("compare: wrote {}", setup.out.join(csv_name).display());
}

pub fn window_mean(series: &[u64], first: bool) -> f64 {
    let n = series.len().min(10);
    let window = if first {
        &series[..n]
    } else {
        &series[series.len() - n..]
    };
    window.iter().sum::<u64>() as f64 / n as f64
}

/// Prints the table (median, min–max, ratio to the Java reference) and writes
/// CSV and JSON.
pub fn report(out: &Path, rows: &[Row]) {
    let mut groups: BTreeMap<(String, String, &'static str), BTreeMap<Server, Vec<f64>>> =
        BTreeMap::new();
    for row in rows {
        groups
            .entry((row.figure.clone(), row.client.clone(), row.unit))
            .or_default()
            .entry(row.server)
            .or_default()
            .push(row.value);
    }
    let mut csv = String::from("figure,client,unit,server,median,min,max,ratio_to_java\n");
    let mut json = Vec::new();
    println!(
        "{:<36} {:<12} {:<13} {:>26} {:>26} {:>14} {:>9}",
        "figure",
        "client",
        "unit",
        "yes-server (min–max)",
        "java-reference (min–max)",
        "floor",
        "yes/java"
    );
    for ((figure, client, unit), by_server) in &mut groups {
        let mut medians = BTreeMap::new();
        let mut cells = BTreeMap::new();
        for (server, values) in by_server.iter_mut() {
            let (median, min, max) = median_min_max(values);
            medians.insert(*server, median);
            cells.insert(*server, format!("{median:.1} ({min:.1}–{max:.1})"));
            csv.push_str(&format!(
                "{figure:?},{client},{unit},{},{median},{min},{max},",
                server.name()
            ));
            let ratio = medians.get(&Server::Java).map(|java| median / java);
            csv.push_str(&ratio.map_or(String::new(), |r| format!("{r}")));
            csv.push('\n');
            json.push(format!(
                "{{\"figure\":{figure:?},\"client\":{client:?},\"unit\":{unit:?},\"server\":{:?},\"median\":{median},\"min\":{min},\"max\":{max}}}",
                server.name()
            ));
        }
        let ratio = match (medians.get(&Server::Yes), medians.get(&Server::Java)) {
            (Some(yes), Some(java)) if *java > 0.0 => format!("{:.2}x", yes / java),
            _ => "-".into(),
        };
        let cell = |s: Server| cells.get(&s).cloned().unwrap_or_else(|| "-".into());
        println!(
            "{figure:<36} {client:<12} {unit:<13} {:>26} {:>26} {:>14} {ratio:>9}",
            cell(Server::Yes),
            cell(Server::Java),
            medians
                .get(&Server::Floor)
                .map_or("-".into(), |f| format!("{f:.1}")),
        );
    }
    std::fs::write(out.join("results.csv"), csv).unwrap();
    std::fs::write(
        out.join("results.json"),
        format!("[\n{}\n]\n", json.join(",\n")),
    )
    .unwrap();
}

pub fn plot_rss(path: &Path, series: &BTreeMap<Server, Vec<u64>>) {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (800, 400)).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let max = series.values().flatten().copied().max().unwrap_or(1) as f64 / 1024.0;
    let len = series.values().map(Vec::len).max().unwrap_or(1);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Server RSS under 100 slow readers (10 msgs/s each)",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0..len, 0.0..max * 1.1)
        .unwrap();
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("RSS (MiB)")
        .draw()
        .unwrap();
    for (server, color) in [(Server::Yes, &BLUE), (Server::Java, &RED)] {
        if let Some(values) = series.get(&server) {
            chart
                .draw_series(LineSeries::new(
                    values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (i, *v as f64 / 1024.0)),
                    color,
                ))
                .unwrap()
                .label(server.name())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
    }
    legend_and_save(&mut chart, &root);
}

pub fn plot_rates(path: &Path, rows: &[Row]) {
    use plotters::prelude::*;
    let sizes = ["\"yes\"", "1024 B", "65536 B"];
    let median = |server: Server, size: &str| {
        let mut values: Vec<f64> = rows
            .iter()
            .filter(|r| {
                r.server == server
                    && r.unit == "msgs/s"
                    && r.client == Client::Rust.name()
                    && r.figure == format!("1 stream, {size}")
            })
            .map(|r| r.value)
            .collect();
        if values.is_empty() {
            0.0
        } else {
            median_min_max(&mut values).0
        }
    };
    let max = sizes
        .iter()
        .flat_map(|s| [median(Server::Yes, s), median(Server::Java, s)])
        .fold(1.0, f64::max);
    let root = SVGBackend::new(path, (800, 400)).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "One YesWithFc stream, grpcio client: msgs/s by reply size",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..(sizes.len() as f64), 0.0..max * 1.15)
        .unwrap();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(sizes.len())
        .x_label_formatter(&|x| {
            sizes
                .get(x.floor() as usize)
                .map_or(String::new(), |s| s.to_string())
        })
        .y_desc("msgs/s")
        .draw()
        .unwrap();
    for (offset, server, color) in [(0.15, Server::Yes, BLUE), (0.5, Server::Java, RED)] {
        chart
            .draw_series(sizes.iter().enumerate().map(|(i, size)| {
                let x = i as f64 + offset;
                Rectangle::new([(x, 0.0), (x + 0.3, median(server, size))], color.filled())
            }))
            .unwrap()
            .label(server.name())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], color.filled()));
    }
    legend_and_save(&mut chart, &root);
}

/// Draws `chart`'s legend and writes the SVG.
fn legend_and_save<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut plotters::chart::ChartContext<'a, plotters::backend::SVGBackend<'a>, CT>,
    root: &plotters::drawing::DrawingArea<
        plotters::backend::SVGBackend<'a>,
        plotters::coord::Shift,
    >,
) {
    use plotters::style::{BLACK, WHITE};
    chart
        .configure_series_labels()
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()
        .unwrap();
    root.present().unwrap();
}

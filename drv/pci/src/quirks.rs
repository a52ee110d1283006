//! The ME WiFi phantom-function quirk (Xen's `me_wifi_quirk`), as data.
//!
//! On some Intel platforms a WLAN device's DMA also arrives with the
//! requester ID of function 7 of the Management Engine's device on bus 0.
//! The rule: on segment 0, when the host bridge 00:00.0 identifies the
//! platform (Cantiga, or Ironlake / Cougar Point), the ME function 0 of that
//! platform's device (00:03.0, or 00:16.0) exists, and the device being
//! mapped has one of the listed WLAN IDs, then 00:03.7 (or 00:16.7) is
//! mapped and unmapped together with it. IDs are the config dword at offset
//! 0, `device << 16 | vendor`. Xen's fix (the XSA-400 backport) shows
//! 0x423b8086, 0x423c8086, 0x423d8086 (device 3) and 0x42388086 (Puma Peak),
//! 0x422b8086, 0x422c8086 (device 22); the rest come from Xen's quirks.c.

use crate::addr::Bdf;

/// The function of the ME device that the WLAN's DMA aliases.
pub const ME_PHANTOM_FUNCTION: u8 = 7;

/// One platform's entry of the quirk.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MeWifiPlatform {
    pub name: &'static str,
    /// Host bridge (00:00.0) IDs that identify the platform.
    pub host_bridge_ids: &'static [u32],
    /// Device number of the ME on bus 0.
    pub me_device: u8,
    /// WLAN device IDs whose DMA uses the ME phantom function.
    pub wlan_ids: &'static [u32],
}

/// The quirk table.
pub const ME_WIFI_PLATFORMS: [MeWifiPlatform; 2] = [
    MeWifiPlatform {
        name: "Cantiga",
        host_bridge_ids: &[0x2a40_8086],
        me_device: 3,
        wlan_ids: &[
            0x4232_8086,
            0x4235_8086,
            0x4236_8086,
            0x4237_8086,
            0x423a_8086,
            0x423b_8086,
            0x423c_8086,
            0x423d_8086,
        ],
    },
    MeWifiPlatform {
        name: "Ironlake / Cougar Point",
        host_bridge_ids: &[
            0x0040_8086,
            0x0044_8086,
            0x0062_8086,
            0x006a_8086,
            0x0100_8086,
            0x0104_8086,
        ],
        me_device: 22,
        wlan_ids: &[
            0x0087_8086, // Kilmer Peak
            0x0089_8086,
            0x0082_8086, // Taylor Peak
            0x0085_8086,
            0x008f_8086, // Rainbow Peak
            0x0090_8086,
            0x0091_8086,
            0x4238_8086, // Puma Peak
            0x422b_8086,
            0x422c_8086,
        ],
    },
];

/// The extra requester ID of a WLAN device under the quirk, if any.
/// `host_bridge_id` is 00:00.0's ID (if present); `me_present(dev)` says
/// whether 00:dev.0 exists.
pub fn me_wifi_phantom(
    seg: u16,
    host_bridge_id: Option<u32>,
    device_id: u32,
    me_present: impl Fn(u8) -> bool,
) -> Option<Bdf> {
    if seg != 0 {
        return None;
    }
    let host = host_bridge_id?;
    let platform = ME_WIFI_PLATFORMS
        .iter()
        .find(|p| p.host_bridge_ids.contains(&host))?;
    if !me_present(platform.me_device) || !platform.wlan_ids.contains(&device_id) {
        return None;
    }
    Bdf::new(0, 0, platform.me_device, ME_PHANTOM_FUNCTION).ok()
}

//! Expected outcome counts per file of `../shared/data`, derived without session-sigma:
//! - `windows-json/`: `jq -r -f tests/data/windows/count.jq FILE | sort | uniq -c` (EventID,
//!   Channel and LogonType of each record, mapped by the table of docs/semantics.md §5);
//! - `evtx/`: `python3 tests/data/windows/count_evtx.py FILE` (python-evtx, an independent
//!   decoder), except the two files python-evtx cannot decode, whose counts are those of
//!   `../shared/data/README.md` (evtx_dump 0.15.1): see the comments there.
//!
//! Each entry: (file, [(action or `skipped` or `invalid`, count)]).

pub const JSON: &[(&str, &[(&str, u64)])] = &[
    (
        "evtx_dump/EVTX-to-MITRE-Attack__EVTX_full_APT_attack_steps__ID4624,4688,5140,5145-Eternal_Romance_-_MS17_010_psexec_GLOBAL.subset.jsonl",
        &[("remote", 3), ("skipped", 5)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__EVTX_full_APT_attack_steps__ID4688,4698,4699,5145,4624-ATexec_remote_trask_creation_GLOBAL.subset.jsonl",
        &[("remote", 3), ("skipped", 2)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__EVTX_full_APT_attack_steps__ID4688,5140,5145-WMIexec_execution_via_SMB_GLOBAL.subset.jsonl",
        &[("remote", 5), ("skipped", 7)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__EVTX_full_APT_attack_steps__ID47x,4661-4662,5136,4688,4697-SAM_the_admin_CVE-2021-42287.subset.jsonl",
        &[("remote", 4), ("skipped", 2)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__EVTX_full_APT_attack_steps__ID5145-4624-DonPAPI_full_extraction.subset.jsonl",
        &[("remote", 15), ("skipped", 20)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0001-Initial_access__T1078-Valid_accounts__ID1149-RDP_success_logins_to_multiple_hosts.jsonl",
        &[("skipped", 11)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0001-Initial_access__T1078-Valid_accounts__ID4625-failed_login_with_denied_access_due_to_account_restriction.jsonl",
        &[("failed", 2)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0002-Execution__T1047-Windows_Management_Instrumentation__ID4688-5145-WMIexec_execution_via_SMB.subset.jsonl",
        &[("remote", 15), ("skipped", 21)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0003-Persistence__T1098.xxx-Account_manipulation__ID4724-5145-password_reset_with_setNTLM_Mimikatz.subset.jsonl",
        &[("remote", 5), ("skipped", 2)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0004-Privilege_Escalation__T1134-Access_Token_Manipulation__ID4648-4624-RunAsCS_login.subset.jsonl",
        &[("remote", 1), ("skipped", 3)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0004-Privilege_Escalation__T1134-Access_Token_Manipulation__ID4688,4624-RottenPotatoNG.subset.jsonl",
        &[("remote", 1), ("skipped", 2)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0004-Privilege_Escalation__T1134-Access_Token_Manipulation__ID4688,4648,4624-Runas_execution_with_different_user.subset.jsonl",
        &[("interactive", 2), ("skipped", 4)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0004-Privilege_Escalation__T1574-DLL_side-loading__ID4688,6416,4648-SystemNightMare.subset.jsonl",
        &[("skipped", 3)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0005-Defense_Evasion__T1027-Obfuscated_Files_or_Information__4624,4674,4688-_CrackMap_Exec_SMB_mimikatz.subset.jsonl",
        &[("remote", 7), ("skipped", 2)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0005-Defense_Evasion__T1112-Modify_registry__ID4624,4670,4688,4674-Registry_permission_change_via_WMI_DAMP.subset.jsonl",
        &[("remote", 6), ("skipped", 8)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0006-Credential_Access__T1003-Credential_dumping__ID4656,_5145,_4674-Impacket_secret_dump_via_SMB.subset.jsonl",
        &[("remote", 3), ("skipped", 5)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0006-Credential_Access__T1003-Credential_dumping__ID4662-DCsync_attack_using_Mimikatz.subset.jsonl",
        &[("remote", 14), ("skipped", 3)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0006-Credential_Access__T1003-Credential_dumping__ID4688-4663-4656-LSASS_dump_with_LSASSY_process.subset.jsonl",
        &[("remote", 5), ("skipped", 7)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0006-Credential_Access__T1110.xxx-Brut_force__ID4625-OpenSSH_brutforce_with_non_existing_users.subset.jsonl",
        &[("failed", 5), ("login", 1), ("skipped", 4)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0006-Credential_Access__T1110.xxx-Brut_force__ID4625-OpenSSH_brutforce_with_valid_users.jsonl",
        &[("failed", 5), ("login", 1), ("remote", 1), ("skipped", 4)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0006-Credential_Access__T1110.xxx-Brut_force__ID_4776,4625-AccountRestore_local_bruteforce.jsonl",
        &[("failed", 16)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0006-Credential_Access__T1557-Man_in_the_middle__ID5145-Print_spooler_bug_abuse.subset.jsonl",
        &[("remote", 6), ("skipped", 2)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0006-Credential_Access__T1558-Steal_or_Forge_Kerberos_Tickets__ID4624-Success_login_with_Golden_ticket.jsonl",
        &[("remote", 10)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0007-Discovery__T1046-Network_Service_Scanning__ID4624-Anonymous_login_with_domain_specified_DonPapi.jsonl",
        &[("remote", 15)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0007-Discovery__T1069-Permission_Groups_Discovery__ID4799-4624-Local_admin_group_enumerated_by_SharpHound.subset.jsonl",
        &[("remote", 44), ("skipped", 9)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0007-Discovery__T1087-Account_discovery__ID4662-4624-Honeypot_account_property_read.jsonl",
        &[("remote", 14), ("skipped", 3)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0008-Lateral_Movement__T1021.001-Remote_Desktop_Protocol__ID4688,4778,4779_RDP_hijack_direct.subset.jsonl",
        &[("disconnect", 1), ("reconnect", 1), ("skipped", 2)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0008-Lateral_Movement__T1021.001-Remote_Desktop_Protocol__ID4688-4778_RDP_hijack_command_execution.subset.jsonl",
        &[("reconnect", 1), ("skipped", 2)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0008-Lateral_Movement__T1021.002-SMB_Windows_Admin_Shares__ID4688,4697,5140-5145_PSexec_remote_execution_+_admin_share.subset.jsonl",
        &[("remote", 5), ("skipped", 2)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0008-Lateral_Movement__T1021.002-SMB_Windows_Admin_Shares__ID4688-4648_Lateral_movement_with_net_use.jsonl",
        &[("skipped", 2)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0008-Lateral_Movement__T1021.003-Distributed_Component_Object_Model_DCOM___ID4688,4674-DCOMexec_process_spawned.subset.jsonl",
        &[("remote", 3), ("skipped", 2)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0008-Lateral_Movement__T1550-Use_Alternate_Authentication_Material__ID4624-Mimikatz_Pass_the_hash.subset.jsonl",
        &[("login", 1), ("skipped", 3)],
    ),
    (
        "evtx_dump/EVTX-to-MITRE-Attack__TA0011-Command_and_Control__T1572-Protocol_tunneling__ID4688-netsh_RDP_port_forwarding_abuse.subset.jsonl",
        &[("remote", 1), ("skipped", 3)],
    ),
    (
        "evtx_dump/evtx-crate__2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.subset.jsonl",
        &[("skipped", 7)],
    ),
    (
        "evtx_dump/evtx-crate__Security_short_selected.subset.jsonl",
        &[("failed", 1), ("skipped", 2)],
    ),
    (
        "evtx_dump/evtx-crate__Security_with_size_t.subset.jsonl",
        &[
            ("failed", 15),
            ("interactive", 10),
            ("login", 96),
            ("logout", 18),
            ("remote", 9),
            ("skipped", 273),
            ("unlock", 11),
        ],
    ),
    (
        "evtx_dump/evtx-crate__post-Security.subset.jsonl",
        &[
            ("interactive", 2),
            ("login", 21),
            ("logout", 1),
            ("remote", 2),
            ("skipped", 30),
        ],
    ),
    (
        "evtx_dump/evtx-crate__security.subset.jsonl",
        &[
            ("interactive", 84),
            ("login", 456),
            ("logout", 47),
            ("remote", 39),
            ("skipped", 731),
            ("unlock", 4),
        ],
    ),
    (
        "otrf-nxlog/aadinternals_export_adfsdatabaseconfig_remotely_2021-04-27040833.subset.jsonl",
        &[("remote", 1), ("skipped", 2)],
    ),
    (
        "otrf-nxlog/auditpol_system_user_auditpolicy_modification.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("login", 2),
            ("logout", 1),
            ("skipped", 6),
        ],
    ),
    (
        "otrf-nxlog/cmd_bitsadmin_download_psh_script_2020-10-2302365189.subset.jsonl",
        &[("login", 1), ("skipped", 3)],
    ),
    (
        "otrf-nxlog/cmd_disable_eventlog_service_startuptype_modification_via_registry.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("logout", 1),
            ("skipped", 4),
        ],
    ),
    (
        "otrf-nxlog/cmd_dumping_ntds_dit_file_ntdsutil.subset.jsonl",
        &[("login", 2), ("logout", 4), ("remote", 5), ("skipped", 11)],
    ),
    (
        "otrf-nxlog/cmd_dumping_ntds_dit_file_volume_shadow_copy.subset.jsonl",
        &[
            ("login", 5),
            ("logout", 15),
            ("remote", 15),
            ("skipped", 31),
        ],
    ),
    (
        "otrf-nxlog/cmd_mshta_javascript_getobject_sct_2020-10-2202214475.subset.jsonl",
        &[("login", 1), ("skipped", 3)],
    ),
    (
        "otrf-nxlog/cmd_psh_stop_netprofm_eventlog_after_reboot.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("login", 10),
            ("logout", 1),
            ("skipped", 17),
        ],
    ),
    (
        "otrf-nxlog/cmd_psh_stop_netprofm_eventlog_before_reboot.subset.jsonl",
        &[
            ("failed", 3),
            ("interactive", 2),
            ("login", 1),
            ("logout", 1),
            ("skipped", 5),
        ],
    ),
    (
        "otrf-nxlog/cmd_stop_event_logging_controlset001_minint_key.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("login", 3),
            ("logout", 1),
            ("skipped", 7),
        ],
    ),
    (
        "otrf-nxlog/cmd_stop_event_logging_controlset_minint_key.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("login", 1),
            ("logout", 1),
            ("skipped", 5),
        ],
    ),
    (
        "otrf-nxlog/covenant_com_wsman_automation_2020-10-13002455.subset.jsonl",
        &[("logout", 2), ("remote", 3), ("skipped", 5)],
    ),
    (
        "otrf-nxlog/covenant_copy_smb_CreateRequest_2020-09-22145302.subset.jsonl",
        &[("logout", 2), ("remote", 2), ("skipped", 4)],
    ),
    (
        "otrf-nxlog/covenant_dcom_executeexcel4macro_allowed_2020-09-17174542.subset.jsonl",
        &[("login", 2), ("logout", 8), ("remote", 8), ("skipped", 12)],
    ),
    (
        "otrf-nxlog/covenant_dcom_executeexcel4macro_blocked_2020-09-17173147.subset.jsonl",
        &[("logout", 3), ("remote", 2), ("skipped", 4)],
    ),
    (
        "otrf-nxlog/covenant_dcom_iertutil_dll_hijack_2020-10-09183000.subset.jsonl",
        &[
            ("login", 4),
            ("logout", 16),
            ("remote", 19),
            ("skipped", 33),
        ],
    ),
    (
        "otrf-nxlog/covenant_dcom_registerxll_2020-09-18145959.subset.jsonl",
        &[
            ("login", 1),
            ("logout", 29),
            ("remote", 25),
            ("skipped", 37),
        ],
    ),
    (
        "otrf-nxlog/covenant_dcsync_dcerpc_drsuapi_DsGetNCChanges_2020-08-05020926.subset.jsonl",
        &[("logout", 5), ("remote", 6), ("skipped", 6)],
    ),
    (
        "otrf-nxlog/covenant_getdomaingroup_ldap_searchrequest_domain_admins_2020-09-22141005.subset.jsonl",
        &[("logout", 2), ("remote", 3), ("skipped", 5)],
    ),
    (
        "otrf-nxlog/covenant_installutil_2020-09-19211702.subset.jsonl",
        &[("login", 1), ("logout", 7), ("remote", 7), ("skipped", 10)],
    ),
    (
        "otrf-nxlog/covenant_lolbin_wuauclt_createremotethread_2020-10-12183248.subset.jsonl",
        &[("logout", 9), ("remote", 9), ("skipped", 14)],
    ),
    (
        "otrf-nxlog/covenant_persiststartup_2019-12-05044154.subset.jsonl",
        &[("logout", 11), ("remote", 11), ("skipped", 18)],
    ),
    (
        "otrf-nxlog/covenant_persistwmi_2019-12-05044734.subset.jsonl",
        &[("logout", 13), ("remote", 14), ("skipped", 26)],
    ),
    (
        "otrf-nxlog/covenant_psremoting_command_2020-08-06115603.subset.jsonl",
        &[
            ("login", 1),
            ("logout", 14),
            ("remote", 15),
            ("skipped", 28),
        ],
    ),
    (
        "otrf-nxlog/covenant_psremoting_grunt_2019-12-05014931.subset.jsonl",
        &[
            ("login", 1),
            ("logout", 41),
            ("remote", 46),
            ("skipped", 43),
        ],
    ),
    (
        "otrf-nxlog/covenant_sc_query_dcerpc_smb_svcctl_2020-08-05034820.subset.jsonl",
        &[("logout", 3), ("remote", 3), ("skipped", 4)],
    ),
    (
        "otrf-nxlog/covenant_sharpsc_create_dcerpc_smb_svcctl_2020-08-06022635.subset.jsonl",
        &[
            ("login", 1),
            ("logout", 16),
            ("remote", 16),
            ("skipped", 20),
        ],
    ),
    (
        "otrf-nxlog/covenant_sharpsc_query_dcerpc_smb_svcctl_2020-08-06012009.subset.jsonl",
        &[("logout", 5), ("remote", 5), ("skipped", 8)],
    ),
    (
        "otrf-nxlog/covenant_sharpsc_start_dcerpc_smb_svcctl_2020-08-06030120.subset.jsonl",
        &[
            ("login", 1),
            ("logout", 20),
            ("remote", 21),
            ("skipped", 35),
        ],
    ),
    (
        "otrf-nxlog/covenant_sharpsc_stop_dcerpc_smb_svcctl_2020-08-06031938.subset.jsonl",
        &[("login", 1), ("logout", 6), ("remote", 6), ("skipped", 11)],
    ),
    (
        "otrf-nxlog/covenant_sharpwmi_create_dcerpc_wmi_2020-08-06035621.subset.jsonl",
        &[("logout", 15), ("remote", 14), ("skipped", 21)],
    ),
    (
        "otrf-nxlog/covenant_wmi_remote_event_subscription_ActiveScriptEventConsumers_2020-09-01214330.subset.jsonl",
        &[("logout", 19), ("remote", 19), ("skipped", 33)],
    ),
    (
        "otrf-nxlog/covenant_wmi_wbemcomn_dll_hijack_2020-10-09173318.subset.jsonl",
        &[("logout", 19), ("remote", 20), ("skipped", 32)],
    ),
    (
        "otrf-nxlog/empire_dcom_shellwindows_stager_2020-09-18130751.subset.jsonl",
        &[("logout", 5), ("remote", 6), ("skipped", 8)],
    ),
    (
        "otrf-nxlog/empire_dcsync_dcerpc_drsuapi_DsGetNCChanges_2020-09-21185829.subset.jsonl",
        &[("logout", 6), ("remote", 8), ("skipped", 12)],
    ),
    (
        "otrf-nxlog/empire_dllinjection_LoadLibrary_CreateRemoteThread_2020-07-22000048.subset.jsonl",
        &[
            ("login", 1),
            ("logout", 19),
            ("remote", 25),
            ("skipped", 40),
        ],
    ),
    (
        "otrf-nxlog/empire_find_localadmin_smb_svcctl_OpenSCManager_2020-09-22021559.subset.jsonl",
        &[("login", 1), ("logout", 7), ("remote", 7), ("skipped", 13)],
    ),
    (
        "otrf-nxlog/empire_getsession_dcerpc_smb_srvsvc_NetSessEnum_2020-09-22034513.subset.jsonl",
        &[("logout", 26), ("remote", 30), ("skipped", 46)],
    ),
    (
        "otrf-nxlog/empire_launcher_sct_regsvr32_2020-07-21232741.subset.jsonl",
        &[("login", 1), ("logout", 2), ("remote", 1), ("skipped", 4)],
    ),
    (
        "otrf-nxlog/empire_launcher_vbs_2020-09-04160940.subset.jsonl",
        &[("logout", 2), ("remote", 2), ("skipped", 4)],
    ),
    (
        "otrf-nxlog/empire_mimikatz_backupkeys_dcerpc_smb_lsarpc_2020-10-22143243.subset.jsonl",
        &[("logout", 2), ("remote", 2), ("skipped", 4)],
    ),
    (
        "otrf-nxlog/empire_mimikatz_extract_keys_2020-09-22033608.subset.jsonl",
        &[("login", 3), ("logout", 1), ("remote", 1), ("skipped", 6)],
    ),
    (
        "otrf-nxlog/empire_mimikatz_logonpasswords_2020-08-07103224.subset.jsonl",
        &[("logout", 10), ("remote", 10), ("skipped", 16)],
    ),
    (
        "otrf-nxlog/empire_mimikatz_lsadump_inject_protected_mode_2020-08-07110411.subset.jsonl",
        &[
            ("login", 1),
            ("logout", 12),
            ("remote", 12),
            ("skipped", 21),
        ],
    ),
    (
        "otrf-nxlog/empire_mimikatz_lsadump_patch_2020-08-07103913.subset.jsonl",
        &[("login", 3), ("logout", 10), ("remote", 9), ("skipped", 15)],
    ),
    (
        "otrf-nxlog/empire_mimikatz_sam_access_2020-09-22041117.subset.jsonl",
        &[("logout", 5), ("remote", 6), ("skipped", 5)],
    ),
    (
        "otrf-nxlog/empire_monologue_netntlm_downgrade_2019-12-25045202.subset.jsonl",
        &[("logout", 5), ("remote", 4), ("skipped", 7)],
    ),
    (
        "otrf-nxlog/empire_msbuild_dcerpc_wmi_smb_2020-09-20173857.subset.jsonl",
        &[("logout", 12), ("remote", 12), ("skipped", 18)],
    ),
    (
        "otrf-nxlog/empire_ninjacopy_dumping_ntds_dit_file.subset.jsonl",
        &[
            ("login", 3),
            ("logout", 10),
            ("remote", 10),
            ("skipped", 20),
        ],
    ),
    (
        "otrf-nxlog/empire_over_pth_patch_lsass_2020-09-21221336.subset.jsonl",
        &[("login", 1), ("logout", 6), ("remote", 7), ("skipped", 11)],
    ),
    (
        "otrf-nxlog/empire_persistence_registry_modification_run_keys_elevated_user_2020-07-22001847.subset.jsonl",
        &[("logout", 5), ("remote", 4), ("skipped", 3)],
    ),
    (
        "otrf-nxlog/empire_persistence_registry_modification_run_keys_standard_user_2020-09-04030609.subset.jsonl",
        &[
            ("disconnect", 2),
            ("interactive", 7),
            ("lock", 1),
            ("login", 46),
            ("logout", 60),
            ("rdp", 3),
            ("reconnect", 2),
            ("remote", 61),
            ("skipped", 160),
            ("unlock", 5),
        ],
    ),
    (
        "otrf-nxlog/empire_powerdump_sam_access_2020-09-22042230.subset.jsonl",
        &[("logout", 1), ("remote", 1), ("skipped", 3)],
    ),
    (
        "otrf-nxlog/empire_powerview_ldap_ntsecuritydescriptor_2020-09-21130944.subset.jsonl",
        &[
            ("login", 1),
            ("logout", 24),
            ("remote", 26),
            ("skipped", 33),
        ],
    ),
    (
        "otrf-nxlog/empire_psexec_dcerpc_tcp_svcctl_2020-09-20121608.subset.jsonl",
        &[("login", 1), ("logout", 9), ("remote", 7), ("skipped", 13)],
    ),
    (
        "otrf-nxlog/empire_psinject_PEinjection_2020-08-07143205.subset.jsonl",
        &[("logout", 8), ("remote", 8), ("skipped", 13)],
    ),
    (
        "otrf-nxlog/empire_psremoting_stager_2020-09-20170827.subset.jsonl",
        &[("logout", 5), ("remote", 8), ("skipped", 11)],
    ),
    (
        "otrf-nxlog/empire_schtasks_creation_standard_user_2020-09-21031526.subset.jsonl",
        &[("login", 1), ("logout", 7), ("remote", 7), ("skipped", 13)],
    ),
    (
        "otrf-nxlog/empire_shell_dcerpc_smb_service_dll_hijack_2020-09-21232839.subset.jsonl",
        &[
            ("login", 2),
            ("logout", 35),
            ("remote", 33),
            ("skipped", 54),
        ],
    ),
    (
        "otrf-nxlog/empire_shell_net_local_users_2020-09-21192606.subset.jsonl",
        &[("logout", 3), ("remote", 4), ("skipped", 3)],
    ),
    (
        "otrf-nxlog/empire_shell_net_localgroup_administrators_2020-09-21191843.subset.jsonl",
        &[("logout", 4), ("remote", 5), ("skipped", 8)],
    ),
    (
        "otrf-nxlog/empire_shell_reg_dump_sam_2020-09-22042823.subset.jsonl",
        &[("logout", 1), ("remote", 1), ("skipped", 3)],
    ),
    (
        "otrf-nxlog/empire_shell_rpc_samr_smb_group_domain_admins_standard_user_2020-09-21040850.subset.jsonl",
        &[("logout", 10), ("remote", 9), ("skipped", 12)],
    ),
    (
        "otrf-nxlog/empire_shell_rubeus_asktgt_createnetonly_2020-09-21230246.subset.jsonl",
        &[("login", 1), ("logout", 7), ("remote", 9), ("skipped", 12)],
    ),
    (
        "otrf-nxlog/empire_shell_rubeus_asktgt_ptt_2020-09-21223848.subset.jsonl",
        &[("logout", 8), ("remote", 7), ("skipped", 10)],
    ),
    (
        "otrf-nxlog/empire_shell_samr_EnumDomainUsers_2020-09-21193527.subset.jsonl",
        &[("logout", 5), ("remote", 4), ("skipped", 7)],
    ),
    (
        "otrf-nxlog/empire_smbexec_dcerpc_smb_svcctl_2020-09-20025716.subset.jsonl",
        &[("logout", 7), ("remote", 5), ("skipped", 8)],
    ),
    (
        "otrf-nxlog/empire_uac_shellapi_fodhelper_2020-09-04032946.subset.jsonl",
        &[
            ("disconnect", 2),
            ("lock", 1),
            ("login", 2),
            ("logout", 3),
            ("remote", 2),
            ("skipped", 8),
        ],
    ),
    (
        "otrf-nxlog/empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod_2020-09-21001437.subset.jsonl",
        &[("logout", 29), ("remote", 31), ("skipped", 49)],
    ),
    (
        "otrf-nxlog/empire_wmic_add_user_backdoor_2020-09-14080546.subset.jsonl",
        &[
            ("login", 6),
            ("logout", 18),
            ("remote", 20),
            ("skipped", 32),
        ],
    ),
    (
        "otrf-nxlog/metasploit_comsvcs_lsass_memory_dump.subset.jsonl",
        &[
            ("failed", 2),
            ("interactive", 2),
            ("login", 6),
            ("logout", 1),
            ("skipped", 12),
        ],
    ),
    (
        "otrf-nxlog/metasploit_logonpasswords_lsass_memory_dump.subset.jsonl",
        &[
            ("interactive", 2),
            ("login", 3),
            ("logout", 1),
            ("skipped", 7),
        ],
    ),
    (
        "otrf-nxlog/metasploit_nanodump_lsass_memory_dump.subset.jsonl",
        &[
            ("interactive", 2),
            ("login", 24),
            ("logout", 1),
            ("skipped", 37),
        ],
    ),
    (
        "otrf-nxlog/metasploit_out-minidump_lsass_memory_dump.subset.jsonl",
        &[("login", 14), ("skipped", 20)],
    ),
    (
        "otrf-nxlog/metasploit_outflank-dumpert_lsass_memory_dump.subset.jsonl",
        &[
            ("interactive", 2),
            ("login", 12),
            ("logout", 1),
            ("skipped", 20),
        ],
    ),
    (
        "otrf-nxlog/metasploit_procdump_lsass_memory_dump.subset.jsonl",
        &[("login", 14), ("skipped", 20)],
    ),
    (
        "otrf-nxlog/metasploit_sharpdump_lsass_memory_dump.subset.jsonl",
        &[
            ("interactive", 2),
            ("login", 7),
            ("logout", 1),
            ("skipped", 13),
        ],
    ),
    (
        "otrf-nxlog/mimikatz_CVE-2020-1472_Unauthenticated_NetrServerAuthenticate2_2020-09-16233923.subset.jsonl",
        &[("logout", 4), ("remote", 4), ("skipped", 5)],
    ),
    (
        "otrf-nxlog/msf_record_mic_2020-06-09225055.subset.jsonl",
        &[("logout", 7), ("remote", 7), ("skipped", 11)],
    ),
    (
        "otrf-nxlog/proxylogon_ssrf_rce_poc_2021-03-14T01401970.subset.jsonl",
        &[("login", 2), ("logout", 9), ("remote", 19), ("skipped", 32)],
    ),
    (
        "otrf-nxlog/psh_control_panel_execution_2020-10-2201312134.subset.jsonl",
        &[("login", 1), ("skipped", 3)],
    ),
    (
        "otrf-nxlog/psh_disable_eventlog_service_startuptype_modification.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("login", 1),
            ("logout", 1),
            ("skipped", 5),
        ],
    ),
    (
        "otrf-nxlog/psh_hh_local_html_payload_2020-10-2200214526.subset.jsonl",
        &[("login", 1), ("skipped", 3)],
    ),
    (
        "otrf-nxlog/psh_metasploit_stop_netprofm_eventlog_after_reboot.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("login", 8),
            ("logout", 1),
            ("skipped", 14),
        ],
    ),
    (
        "otrf-nxlog/psh_metasploit_stop_netprofm_eventlog_before_reboot.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("login", 3),
            ("logout", 1),
            ("skipped", 7),
        ],
    ),
    (
        "otrf-nxlog/psh_mshta_html_application_execution_2020-10-2203521411.subset.jsonl",
        &[("login", 1), ("skipped", 3)],
    ),
    (
        "otrf-nxlog/psh_register_cimprovider_execute_dll_2020-10-2302051393.subset.jsonl",
        &[("login", 1), ("skipped", 3)],
    ),
    (
        "otrf-nxlog/psh_stop_event_logging_controlset001_minint_key.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("login", 2),
            ("logout", 1),
            ("skipped", 6),
        ],
    ),
    (
        "otrf-nxlog/psh_stop_event_logging_controlset_minint_key.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("login", 1),
            ("logout", 1),
            ("skipped", 5),
        ],
    ),
    (
        "otrf-nxlog/purplesharp_ad_playbook_I_2020-10-22042947.subset.jsonl",
        &[
            ("failed", 7),
            ("logout", 31),
            ("remote", 49),
            ("skipped", 69),
        ],
    ),
    (
        "otrf-nxlog/rdp_interactive_taskmanager_lsass_dump_2020-09-22043748.jsonl",
        &[
            ("login", 2),
            ("logout", 14),
            ("reconnect", 2),
            ("remote", 12),
            ("skipped", 5454),
            ("unlock", 5),
        ],
    ),
    (
        "otrf-nxlog/reg_cmd_process_commandline_logging_disabled.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("logout", 1),
            ("skipped", 4),
        ],
    ),
    (
        "otrf-nxlog/reg_disable_eventlog_service_startuptype_modification_via_registry.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("logout", 1),
            ("skipped", 4),
        ],
    ),
    (
        "otrf-nxlog/reg_meterpreter_process_commandline_logging_disabled.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("logout", 1),
            ("skipped", 4),
        ],
    ),
    (
        "otrf-nxlog/reg_stop_event_logging_controlset001_minint_key.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("login", 1),
            ("logout", 1),
            ("skipped", 5),
        ],
    ),
    (
        "otrf-nxlog/reg_stop_event_logging_controlset_minint_key.subset.jsonl",
        &[
            ("failed", 1),
            ("interactive", 2),
            ("login", 1),
            ("logout", 1),
            ("skipped", 5),
        ],
    ),
    (
        "otrf-nxlog/schtask_create_2020-12-1907003032.subset.jsonl",
        &[("logout", 1), ("remote", 1), ("skipped", 3)],
    ),
    (
        "otrf-nxlog/schtask_modification_2020-12-1907505969.subset.jsonl",
        &[("login", 1), ("logout", 1), ("remote", 1), ("skipped", 4)],
    ),
    (
        "otrf-nxlog/wmic_remote_xsl_jscript_2020-10-1802171958.subset.jsonl",
        &[("login", 1), ("skipped", 3)],
    ),
    (
        "otrf-sentinel/GoldenSAMLADFSMailAccess__WindowsEvents.jsonl",
        &[("remote", 28), ("skipped", 10)],
    ),
    (
        "otrf-winlogbeat6/empire_enable_rdp_2019-05-18203650.subset.jsonl",
        &[("login", 4), ("logout", 4), ("remote", 5), ("skipped", 11)],
    ),
    (
        "otrf-winlogbeat6/empire_invoke_runas_2019-05-18204300.subset.jsonl",
        &[
            ("interactive", 2),
            ("logout", 8),
            ("remote", 8),
            ("skipped", 16),
        ],
    ),
    (
        "otrf-winlogbeat6/empire_mimikatz_opth_2019-03-19131123.subset.jsonl",
        &[("login", 1), ("logout", 9), ("remote", 9), ("skipped", 16)],
    ),
    (
        "otrf-winlogbeat6/empire_scm_dll_hijack_ikeext_2019-04-03133337.subset.jsonl",
        &[
            ("login", 7),
            ("logout", 17),
            ("remote", 19),
            ("skipped", 37),
        ],
    ),
    (
        "otrf-winlogbeat6/empire_wdigest_downgrade_2019-05-18201922.subset.jsonl",
        &[("login", 1), ("logout", 4), ("remote", 4), ("skipped", 5)],
    ),
    (
        "splunk-nxlog/T1027__atomic_red_team__attack_data.subset.jsonl",
        &[
            ("login", 9),
            ("logout", 82),
            ("remote", 96),
            ("skipped", 216),
        ],
    ),
    (
        "splunk-nxlog/T1047__atomic_red_team__attack_data.subset.jsonl",
        &[
            ("login", 9),
            ("logout", 83),
            ("remote", 103),
            ("skipped", 233),
        ],
    ),
    (
        "splunk-nxlog/T1053.005__atomic_red_team__attack_data.subset.jsonl",
        &[
            ("failed", 1),
            ("login", 9),
            ("logout", 85),
            ("remote", 100),
            ("skipped", 226),
        ],
    ),
];

pub const EVTX: &[(&str, &[(&str, u64)])] = &[
    // python-evtx cannot decode this file; README: 11 records, all RCM 1149 (not mapped).
    (
        "EVTX-to-MITRE-Attack__TA0001-Initial_access__T1078-Valid_accounts__ID1149-RDP_success_logins_to_multiple_hosts.evtx",
        &[("skipped", 11)],
    ),
    (
        "EVTX-to-MITRE-Attack__TA0001-Initial_access__T1078-Valid_accounts__ID4625-failed_login_with_denied_access_due_to_account_restriction.evtx",
        &[("failed", 2)],
    ),
    (
        "EVTX-to-MITRE-Attack__TA0004-Privilege_Escalation__T1134-Access_Token_Manipulation__ID4688,4648,4624-Runas_execution_with_different_user.evtx",
        &[("interactive", 2), ("skipped", 7)],
    ),
    (
        "EVTX-to-MITRE-Attack__TA0006-Credential_Access__T1110.xxx-Brut_force__ID4625-OpenSSH_brutforce_with_non_existing_users.evtx",
        &[("failed", 5), ("login", 1), ("skipped", 14)],
    ),
    (
        "EVTX-to-MITRE-Attack__TA0006-Credential_Access__T1110.xxx-Brut_force__ID4625-OpenSSH_brutforce_with_valid_users.evtx",
        &[("failed", 5), ("login", 1), ("remote", 1), ("skipped", 4)],
    ),
    (
        "EVTX-to-MITRE-Attack__TA0006-Credential_Access__T1110.xxx-Brut_force__ID_4776,4625-AccountRestore_local_bruteforce.evtx",
        &[("failed", 16)],
    ),
    (
        "EVTX-to-MITRE-Attack__TA0006-Credential_Access__T1558-Steal_or_Forge_Kerberos_Tickets__ID4624-Success_login_with_Golden_ticket.evtx",
        &[("remote", 10)],
    ),
    (
        "EVTX-to-MITRE-Attack__TA0007-Discovery__T1046-Network_Service_Scanning__ID4624-Anonymous_login_with_domain_specified_DonPapi.evtx",
        &[("remote", 15)],
    ),
    (
        "EVTX-to-MITRE-Attack__TA0008-Lateral_Movement__T1021.001-Remote_Desktop_Protocol__ID4688,4778,4779_RDP_hijack_direct.evtx",
        &[("disconnect", 1), ("reconnect", 1), ("skipped", 12)],
    ),
    (
        "EVTX-to-MITRE-Attack__TA0008-Lateral_Movement__T1021.001-Remote_Desktop_Protocol__ID4688-4778_RDP_hijack_command_execution.evtx",
        &[("reconnect", 1), ("skipped", 21)],
    ),
    (
        "EVTX-to-MITRE-Attack__TA0008-Lateral_Movement__T1550-Use_Alternate_Authentication_Material__ID4624-Mimikatz_Pass_the_hash.evtx",
        &[("login", 1), ("skipped", 7)],
    ),
    // python-evtx decodes only part of this file; README: 1795 records decoded (RCM 1149×5
    // and 1790 others, none mapped) and 2 that evtx_dump cannot decode.
    (
        "evtx-crate__2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
        &[("invalid", 2), ("skipped", 1795)],
    ),
    (
        "evtx-crate__Security_short_selected.evtx",
        &[("failed", 1), ("skipped", 6)],
    ),
    (
        "evtx-crate__Security_with_size_t.evtx",
        &[
            ("failed", 15),
            ("interactive", 10),
            ("login", 96),
            ("logout", 18),
            ("remote", 9),
            ("skipped", 477),
            ("unlock", 11),
        ],
    ),
    (
        "evtx-crate__post-Security.evtx",
        &[
            ("interactive", 2),
            ("login", 21),
            ("logout", 1),
            ("remote", 2),
            ("skipped", 100),
        ],
    ),
    (
        "evtx-crate__security.evtx",
        &[
            ("interactive", 84),
            ("login", 456),
            ("logout", 47),
            ("remote", 39),
            ("skipped", 1631),
            ("unlock", 4),
        ],
    ),
    (
        "evtx-crate__security_bad_string_cache.evtx",
        &[
            ("interactive", 84),
            ("login", 456),
            ("logout", 47),
            ("remote", 39),
            ("skipped", 1631),
            ("unlock", 4),
        ],
    ),
];

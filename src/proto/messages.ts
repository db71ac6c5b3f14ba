/**
 * The few TensorFlow protobuf messages tfserve reads or writes, declared by field number (protocol
 * facts from tensorflow/core/protobuf/{meta_graph,config}.proto and framework/tensor_shape.proto).
 * Only the fields we use are declared, except tensorflow.ConfigProto, which is whole; protobufjs skips
 * the rest on decode (notably the large MetaGraphDef.graph_def, field 2).
 */
import protobuf from 'protobufjs';

// A variable, not an inline literal: map fields carry `keyType`, which IField's typing omits.
const descriptor = {
  nested: {
    SavedModel: {
      fields: {
        metaGraphs: { rule: 'repeated', type: 'MetaGraphDef', id: 2 },
      },
    },
    MetaGraphDef: {
      fields: {
        metaInfoDef: { type: 'MetaInfoDef', id: 1 },
        signatureDef: { keyType: 'string', type: 'SignatureDef', id: 5 },
      },
    },
    MetaInfoDef: {
      fields: {
        tags: { rule: 'repeated', type: 'string', id: 4 },
        tensorflowVersion: { type: 'string', id: 5 },
      },
    },
    SignatureDef: {
      fields: {
        inputs: { keyType: 'string', type: 'TensorInfo', id: 1 },
        outputs: { keyType: 'string', type: 'TensorInfo', id: 2 },
        methodName: { type: 'string', id: 3 },
        defaults: { keyType: 'string', type: 'TensorProto', id: 4 },
      },
    },
    TensorProto: {
      fields: {
        dtype: { type: 'int32', id: 1 },
        tensorShape: { type: 'TensorShapeProto', id: 2 },
        tensorContent: { type: 'bytes', id: 4 },
        floatVal: { rule: 'repeated', type: 'float', id: 5, options: { packed: true } },
        doubleVal: { rule: 'repeated', type: 'double', id: 6, options: { packed: true } },
        intVal: { rule: 'repeated', type: 'int32', id: 7, options: { packed: true } },
        stringVal: { rule: 'repeated', type: 'bytes', id: 8 },
        int64Val: { rule: 'repeated', type: 'int64', id: 10, options: { packed: true } },
        boolVal: { rule: 'repeated', type: 'bool', id: 11, options: { packed: true } },
        halfVal: { rule: 'repeated', type: 'int32', id: 13, options: { packed: true } },
        uint32Val: { rule: 'repeated', type: 'uint32', id: 16, options: { packed: true } },
        uint64Val: { rule: 'repeated', type: 'uint64', id: 17, options: { packed: true } },
      },
    },
    TensorInfo: {
      oneofs: { encoding: { oneof: ['name', 'cooSparse', 'compositeTensor'] } },
      fields: {
        name: { type: 'string', id: 1 },
        cooSparse: { type: 'bytes', id: 4 },
        compositeTensor: { type: 'bytes', id: 5 },
        dtype: { type: 'int32', id: 2 },
        tensorShape: { type: 'TensorShapeProto', id: 3 },
      },
    },
    TensorShapeProto: {
      fields: {
        dim: { rule: 'repeated', type: 'Dim', id: 2 },
        unknownRank: { type: 'bool', id: 3 },
      },
      nested: {
        Dim: {
          fields: {
            size: { type: 'int64', id: 1 },
            name: { type: 'string', id: 2 },
          },
        },
      },
    },
    // tensorflow.ConfigProto and every message it holds, as TensorFlow 2.21 defines them
    // (core/protobuf/{config,rewriter_config,cluster,verifier_config}.proto, tsl/protobuf/
    // {rpc_options,coordination_config}.proto). Whole, because a --tensorflow_session_config_file may
    // set any field; with proto field names, because the text format and its errors use them.
    // AttrValue (RewriterConfig.CustomGraphOptimizer.parameter_map) is the one type not declared:
    // session-config-proto.ts rejects that field by name.
    tensorflow: {
      nested: {
        ConfigProto: {
          fields: {
            device_count: { keyType: 'string', type: 'int32', id: 1 },
            intra_op_parallelism_threads: { type: 'int32', id: 2 },
            inter_op_parallelism_threads: { type: 'int32', id: 5 },
            use_per_session_threads: { type: 'bool', id: 9 },
            session_inter_op_thread_pool: { rule: 'repeated', type: 'ThreadPoolOptionProto', id: 12 },
            placement_period: { type: 'int32', id: 3 },
            device_filters: { rule: 'repeated', type: 'string', id: 4 },
            gpu_options: { type: 'GPUOptions', id: 6 },
            pluggable_device_options: { type: 'GPUOptions', id: 18 },
            allow_soft_placement: { type: 'bool', id: 7 },
            log_device_placement: { type: 'bool', id: 8 },
            graph_options: { type: 'GraphOptions', id: 10 },
            operation_timeout_in_ms: { type: 'int64', id: 11 },
            rpc_options: { type: 'RPCOptions', id: 13 },
            cluster_def: { type: 'ClusterDef', id: 14 },
            isolate_session_state: { type: 'bool', id: 15 },
            share_cluster_devices_in_session: { type: 'bool', id: 17 },
            experimental: { type: 'Experimental', id: 16 },
          },
          nested: {
            Experimental: {
              fields: {
                collective_group_leader: { type: 'string', id: 1 },
                executor_type: { type: 'string', id: 3 },
                recv_buf_max_chunk: { type: 'int32', id: 4 },
                use_numa_affinity: { type: 'bool', id: 5 },
                collective_deterministic_sequential_execution: { type: 'bool', id: 6 },
                collective_nccl: { type: 'bool', id: 7 },
                share_session_state_in_clusterspec_propagation: { type: 'bool', id: 8 },
                disable_thread_spinning: { type: 'bool', id: 9 },
                share_cluster_devices_in_session: { type: 'bool', id: 10 },
                session_metadata: { type: 'SessionMetadata', id: 11 },
                optimize_for_static_graph: { type: 'bool', id: 12 },
                enable_mlir_bridge: { type: 'bool', id: 13 },
                mlir_bridge_rollout: { type: 'MlirBridgeRollout', id: 17 },
                enable_mlir_graph_optimization: { type: 'bool', id: 16 },
                disable_output_partition_graphs: { type: 'bool', id: 14 },
                xla_fusion_autotuner_thresh: { type: 'int64', id: 15 },
                use_tfrt: { type: 'bool', id: 18 },
                enable_multi_host: { type: 'bool', id: 27 },
                tfrt_use_ifrt: { type: 'bool', id: 32 },
                backend_server_port: { type: 'int32', id: 28 },
                target_tpu: { type: 'bool', id: 29 },
                target_gpu: { type: 'bool', id: 30 },
                stream_merge_threshold: { type: 'int32', id: 31 },
                disable_functional_ops_lowering: { type: 'bool', id: 21 },
                xla_prefer_single_graph_cluster: { type: 'bool', id: 22 },
                coordination_config: { type: 'CoordinationServiceConfig', id: 23 },
                disable_optimize_for_static_graph: { type: 'bool', id: 24 },
                disable_eager_executor_streaming_enqueue: { type: 'bool', id: 26 },
                finalize_function_library_runtime: { type: 'bool', id: 33 },
                finalize_resource_manager: { type: 'bool', id: 34 },
                tf2xla_dump_dir: { type: 'string', id: 35 },
                online_cost_analysis: { type: 'bool', id: 36 },
              },
              nested: {
                MlirBridgeRollout: {
                  values: { MLIR_BRIDGE_ROLLOUT_UNSPECIFIED: 0, MLIR_BRIDGE_ROLLOUT_ENABLED: 1, MLIR_BRIDGE_ROLLOUT_DISABLED: 2 },
                },
              },
            },
          },
        },
        ThreadPoolOptionProto: {
          fields: {
            num_threads: { type: 'int32', id: 1 },
            global_name: { type: 'string', id: 2 },
          },
        },
        GPUOptions: {
          fields: {
            per_process_gpu_memory_fraction: { type: 'double', id: 1 },
            allow_growth: { type: 'bool', id: 4 },
            allocator_type: { type: 'string', id: 2 },
            deferred_deletion_bytes: { type: 'int64', id: 3 },
            visible_device_list: { type: 'string', id: 5 },
            polling_active_delay_usecs: { type: 'int32', id: 6 },
            polling_inactive_delay_msecs: { type: 'int32', id: 7 },
            force_gpu_compatible: { type: 'bool', id: 8 },
            experimental: { type: 'Experimental', id: 9 },
          },
          nested: {
            Experimental: {
              fields: {
                virtual_devices: { rule: 'repeated', type: 'VirtualDevices', id: 1 },
                num_virtual_devices_per_gpu: { type: 'int32', id: 15 },
                use_unified_memory: { type: 'bool', id: 2 },
                num_dev_to_dev_copy_streams: { type: 'int32', id: 3 },
                collective_ring_order: { type: 'string', id: 4 },
                timestamped_allocator: { type: 'bool', id: 5 },
                kernel_tracker_max_interval: { type: 'int32', id: 7 },
                kernel_tracker_max_bytes: { type: 'int32', id: 8 },
                kernel_tracker_max_pending: { type: 'int32', id: 9 },
                internal_fragmentation_fraction: { type: 'double', id: 10 },
                use_cuda_malloc_async: { type: 'bool', id: 11 },
                disallow_retry_on_allocation_failure: { type: 'bool', id: 12 },
                gpu_host_mem_limit_in_mb: { type: 'float', id: 13 },
                gpu_host_mem_disallow_growth: { type: 'bool', id: 14 },
                gpu_system_memory_size_in_mb: { type: 'int32', id: 16 },
                populate_pjrt_gpu_client_creation_info: { type: 'bool', id: 17 },
                node_id: { type: 'int32', id: 18 },
                stream_merge_options: { type: 'StreamMergeOptions', id: 19 },
              },
              nested: {
                VirtualDevices: {
                  fields: {
                    memory_limit_mb: { rule: 'repeated', type: 'float', id: 1, options: { packed: true } },
                    priority: { rule: 'repeated', type: 'int32', id: 2, options: { packed: true } },
                    device_ordinal: { rule: 'repeated', type: 'int32', id: 3, options: { packed: true } },
                  },
                },
                StreamMergeOptions: {
                  fields: {
                    merge_host_to_device_stream: { type: 'bool', id: 1 },
                    merge_device_to_host_stream: { type: 'bool', id: 2 },
                    merge_device_to_device_stream: { type: 'bool', id: 3 },
                  },
                },
              },
            },
          },
        },
        GraphOptions: {
          fields: {
            enable_recv_scheduling: { type: 'bool', id: 2 },
            optimizer_options: { type: 'OptimizerOptions', id: 3 },
            build_cost_model: { type: 'int64', id: 4 },
            build_cost_model_after: { type: 'int64', id: 9 },
            infer_shapes: { type: 'bool', id: 5 },
            place_pruned_graph: { type: 'bool', id: 6 },
            enable_bfloat16_sendrecv: { type: 'bool', id: 7 },
            timeline_step: { type: 'int32', id: 8 },
            rewrite_options: { type: 'RewriterConfig', id: 10 },
          },
        },
        OptimizerOptions: {
          fields: {
            do_common_subexpression_elimination: { type: 'bool', id: 1 },
            do_constant_folding: { type: 'bool', id: 2 },
            max_folded_constant_in_bytes: { type: 'int64', id: 6 },
            do_function_inlining: { type: 'bool', id: 4 },
            opt_level: { type: 'Level', id: 3 },
            global_jit_level: { type: 'GlobalJitLevel', id: 5 },
            cpu_global_jit: { type: 'bool', id: 7 },
          },
          nested: {
            Level: { values: { L1: 0, L0: -1 } },
            GlobalJitLevel: { values: { DEFAULT: 0, OFF: -1, ON_1: 1, ON_2: 2 } },
          },
        },
        RPCOptions: {
          fields: {
            use_rpc_for_inprocess_master: { type: 'bool', id: 1 },
            compression_algorithm: { type: 'string', id: 2 },
            compression_level: { type: 'int32', id: 3 },
            cache_rpc_response: { type: 'bool', id: 4 },
            disable_session_connection_sharing: { type: 'bool', id: 5 },
            num_channels_per_target: { type: 'int32', id: 6 },
          },
        },
        SessionMetadata: {
          fields: {
            name: { type: 'string', id: 1 },
            version: { type: 'int64', id: 2 },
          },
        },
        ClusterDef: { fields: { job: { rule: 'repeated', type: 'JobDef', id: 1 } } },
        JobDef: {
          fields: {
            name: { type: 'string', id: 1 },
            tasks: { keyType: 'int32', type: 'string', id: 2 },
          },
        },
        CoordinationServiceConfig: {
          fields: {
            service_type: { type: 'string', id: 1 },
            service_leader: { type: 'string', id: 2 },
            enable_health_check: { type: 'bool', id: 3 },
            cluster_register_timeout_in_ms: { type: 'int64', id: 4 },
            cluster_register_with_barrier: { type: 'bool', id: 14 },
            heartbeat_timeout_in_ms: { type: 'int64', id: 5 },
            coordinated_job_list: { rule: 'repeated', type: 'CoordinatedJob', id: 10 },
            shutdown_barrier_timeout_in_ms: { type: 'int64', id: 7 },
            agent_destruction_without_shutdown: { type: 'bool', id: 8 },
            recoverable_jobs: { rule: 'repeated', type: 'string', id: 9 },
            allow_new_incarnation_to_reconnect: { type: 'bool', id: 11 },
            force_disable: { type: 'bool', id: 12 },
            poll_for_error_from_service_at_startup: { type: 'bool', id: 13 },
          },
        },
        CoordinatedJob: {
          fields: {
            name: { type: 'string', id: 1 },
            num_tasks: { type: 'int32', id: 2 },
          },
        },
        RewriterConfig: {
          fields: {
            cpu_layout_conversion: { type: 'CpuLayout', id: 50 },
            layout_optimizer: { type: 'Toggle', id: 1 },
            constant_folding: { type: 'Toggle', id: 3 },
            shape_optimization: { type: 'Toggle', id: 13 },
            remapping: { type: 'Toggle', id: 14 },
            common_subgraph_elimination: { type: 'Toggle', id: 24 },
            arithmetic_optimization: { type: 'Toggle', id: 7 },
            dependency_optimization: { type: 'Toggle', id: 8 },
            loop_optimization: { type: 'Toggle', id: 9 },
            function_optimization: { type: 'Toggle', id: 10 },
            debug_stripper: { type: 'Toggle', id: 11 },
            disable_model_pruning: { type: 'bool', id: 2 },
            scoped_allocator_optimization: { type: 'Toggle', id: 15 },
            pin_to_host_optimization: { type: 'Toggle', id: 18 },
            implementation_selector: { type: 'Toggle', id: 22 },
            auto_mixed_precision: { type: 'Toggle', id: 23 },
            auto_mixed_precision_mkl: { type: 'Toggle', id: 25 },
            auto_mixed_precision_onednn_bfloat16: { type: 'Toggle', id: 31 },
            auto_mixed_precision_cpu: { type: 'Toggle', id: 29 },
            disable_meta_optimizer: { type: 'bool', id: 19 },
            disable_tfg_optimizer: { type: 'bool', id: 32 },
            use_plugin_optimizers: { type: 'Toggle', id: 28 },
            experimental_conditional_code_motion: { type: 'Toggle', id: 30 },
            meta_optimizer_iterations: { type: 'NumIterationsType', id: 12 },
            min_graph_nodes: { type: 'int32', id: 17 },
            experimental_disable_compressed_tensor_optimization: { type: 'bool', id: 26 },
            experimental_disable_folding_quantization_emulation: { type: 'bool', id: 27 },
            memory_optimization: { type: 'MemOptType', id: 4 },
            memory_optimizer_target_node_name_scope: { type: 'string', id: 6 },
            meta_optimizer_timeout_ms: { type: 'int64', id: 20 },
            auto_parallel: { type: 'AutoParallelOptions', id: 5 },
            fail_on_optimizer_errors: { type: 'bool', id: 21 },
            scoped_allocator_opts: { type: 'ScopedAllocatorOptions', id: 16 },
            optimizers: { rule: 'repeated', type: 'string', id: 100 },
            custom_optimizers: { rule: 'repeated', type: 'CustomGraphOptimizer', id: 200 },
            inter_optimizer_verifier_config: { type: 'VerifierConfig', id: 300 },
            post_optimization_verifier_config: { type: 'VerifierConfig', id: 301 },
          },
          nested: {
            Toggle: { values: { DEFAULT: 0, ON: 1, OFF: 2, AGGRESSIVE: 3, EXPERIMENTAL_MLIR: 4, EXPERIMENTAL_BOTH: 5 } },
            CpuLayout: { values: { NO_CONVERSION_ON_CPU: 0, NCHW_TO_NHWC: 1, NHWC_TO_NCHW: 2 } },
            NumIterationsType: { values: { DEFAULT_NUM_ITERS: 0, ONE: 1, TWO: 2 } },
            MemOptType: {
              values: {
                DEFAULT_MEM_OPT: 0,
                NO_MEM_OPT: 1,
                MANUAL: 2,
                SWAPPING_HEURISTICS: 4,
                RECOMPUTATION_HEURISTICS: 5,
                SCHEDULING_HEURISTICS: 6,
                HEURISTICS: 3,
              },
            },
            CustomGraphOptimizer: { fields: { name: { type: 'string', id: 1 } } },
          },
        },
        AutoParallelOptions: {
          fields: {
            enable: { type: 'bool', id: 1 },
            num_replicas: { type: 'int32', id: 2 },
          },
        },
        ScopedAllocatorOptions: { fields: { enable_op: { rule: 'repeated', type: 'string', id: 1 } } },
        VerifierConfig: {
          fields: {
            verification_timeout_in_ms: { type: 'int64', id: 1 },
            structure_verifier: { type: 'Toggle', id: 2 },
          },
          nested: { Toggle: { values: { DEFAULT: 0, ON: 1, OFF: 2 } } },
        },
      },
    },
    Example: {
      fields: { features: { type: 'Features', id: 1 } },
    },
    Features: {
      fields: { feature: { keyType: 'string', type: 'Feature', id: 1 } },
    },
    Feature: {
      oneofs: { kind: { oneof: ['bytesList', 'floatList', 'int64List'] } },
      fields: {
        bytesList: { type: 'BytesList', id: 1 },
        floatList: { type: 'FloatList', id: 2 },
        int64List: { type: 'Int64List', id: 3 },
      },
    },
    BytesList: { fields: { value: { rule: 'repeated', type: 'bytes', id: 1 } } },
    FloatList: { fields: { value: { rule: 'repeated', type: 'float', id: 1, options: { packed: true } } } },
    Int64List: { fields: { value: { rule: 'repeated', type: 'int64', id: 1, options: { packed: true } } } },
    RunOptions: {
      fields: {
        // TraceLevel: 0 NO_TRACE, 1 SOFTWARE_TRACE (step stats: the device of every node).
        traceLevel: { type: 'int32', id: 1 },
        timeoutInMs: { type: 'int64', id: 2 },
        interOpThreadPool: { type: 'int32', id: 3 },
      },
    },
    RunMetadata: { fields: { stepStats: { type: 'StepStats', id: 1 } } },
    StepStats: { fields: { devStats: { rule: 'repeated', type: 'DeviceStepStats', id: 1 } } },
    DeviceStepStats: {
      fields: {
        device: { type: 'string', id: 1 },
        nodeStats: { rule: 'repeated', type: 'NodeExecStats', id: 2 },
      },
    },
    NodeExecStats: { fields: { nodeName: { type: 'string', id: 1 } } },
    // framework/kernel_def.proto: what TF_GetRegisteredKernelsForOp returns.
    KernelList: { fields: { kernel: { rule: 'repeated', type: 'KernelDef', id: 1 } } },
    KernelDef: {
      fields: {
        op: { type: 'string', id: 1 },
        deviceType: { type: 'string', id: 2 },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);

export const SavedModelProto = root.lookupType('SavedModel');
export const MetaGraphDef = root.lookupType('MetaGraphDef');
export const ConfigProto = root.lookupType('tensorflow.ConfigProto');
export const RunOptions = root.lookupType('RunOptions');
export const RunMetadata = root.lookupType('RunMetadata');
export const KernelList = root.lookupType('KernelList');
/** tf.train.Example, which classify and regress signatures take serialized. */
export const Example = root.lookupType('Example');
